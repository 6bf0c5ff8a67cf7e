-- ARGV: scope (requests | best | everyone). Answers {"ok", "r", request json, "a", offer
-- json..., "i", interpreter json, "o", offer id, request id, interpreter id, deadline...}:
-- waiting requests with every offer made for them, free interpreters who speak a waiting
-- language (none, the best few, or all), open offers.
local scope = ARGV[1]
local langs = {}
-- Per language: waiting requests plus interpreters already asked, to size `best`.
local wanted = {}
for _, rid in ipairs(redis.call('SMEMBERS', k('pend'))) do
  local r = redis.call('GET', k('rq:' .. rid))
  if r then
    table.insert(out, 'r')
    table.insert(out, r)
    local lang = cjson.decode(r).language
    langs[lang] = true
    local offers = redis.call('LRANGE', k('ofr:' .. rid), 0, -1)
    wanted[lang] = (wanted[lang] or 0) + 1 + #offers
    for _, oid in ipairs(offers) do
      local o = redis.call('GET', k('of:' .. oid))
      if o then
        table.insert(out, 'a')
        table.insert(out, o)
      end
    end
  end
end
local seen = {}
if scope ~= 'requests' then
  for tag, _ in pairs(langs) do
    -- A margin of 8 covers interpreters still in wrap-up at the top of the list.
    local last = -1
    if scope == 'best' then last = wanted[tag] + 8 - 1 end
    for _, iid in ipairs(redis.call('ZRANGE', k('free:' .. tag), 0, last)) do
      if not seen[iid] then
        seen[iid] = true
        local raw = redis.call('GET', k('it:' .. iid))
        if raw then
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
