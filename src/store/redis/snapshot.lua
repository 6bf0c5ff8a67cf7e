-- No ARGV. Answers {"ok", "r", request json, "a", offer json..., "i", interpreter json,
-- "o", offer id, request id, interpreter id, deadline (ms)...}: waiting requests with
-- every offer made for them, free interpreters who speak a waiting language, open offers.
local langs = {}
for _, rid in ipairs(redis.call('SMEMBERS', k('pend'))) do
  local r = redis.call('GET', k('rq:' .. rid))
  if r then
    table.insert(out, 'r')
    table.insert(out, r)
    langs[cjson.decode(r).language] = true
    for _, oid in ipairs(redis.call('LRANGE', k('ofr:' .. rid), 0, -1)) do
      local o = redis.call('GET', k('of:' .. oid))
      if o then
        table.insert(out, 'a')
        table.insert(out, o)
      end
    end
  end
end
local seen = {}
for tag, _ in pairs(langs) do
  for _, iid in ipairs(redis.call('SMEMBERS', k('spk:' .. tag))) do
    if not seen[iid] then
      seen[iid] = true
      local raw = redis.call('GET', k('it:' .. iid))
      if raw then
        local it = cjson.decode(raw)
        if it.availability == 'available' and it.session == null then
          table.insert(out, 'i')
          table.insert(out, raw)
        end
      end
    end
  end
end
local open = redis.call('ZRANGE', k('open'), 0, -1, 'WITHSCORES')
for i = 1, #open, 2 do
  local o = get(k('of:' .. open[i]))
  if o then
    table.insert(out, 'o')
    table.insert(out, o.id)
    table.insert(out, o.request)
    table.insert(out, o.interpreter)
    table.insert(out, o.deadline)
  end
end
return out
