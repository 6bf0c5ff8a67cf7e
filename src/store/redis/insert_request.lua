-- ARGV: request json, created (ms)
local r = cjson.decode(ARGV[1])
local key = k('rq:' .. r.id)
if redis.call('EXISTS', key) == 1 then return fail('exists', 'request ' .. r.id) end
redis.call('SET', key, ARGV[1])
redis.call('ZADD', k('rqs'), tonumber(ARGV[2]), r.id)
if r.state == 'queued' or r.state == 'offered' then redis.call('SADD', k('pend'), r.id) end
emit('r', r)
done()
-- Where it stands: place among waiting requests of its language (urgent first, then
-- oldest), and interpreters of the language on call. Answered, not published.
-- (Creation times compare as the millisecond scores of `rqs`, then ids.)
local rank = {urgent = 0, normal = 1}
local mine = tonumber(ARGV[2])
local position = 1
for _, rid in ipairs(redis.call('SMEMBERS', k('pend'))) do
  if rid ~= r.id then
    local o = get(k('rq:' .. rid))
    if o and o.language == r.language then
      local t = tonumber(redis.call('ZSCORE', k('rqs'), rid))
      local ahead = rank[o.priority] < rank[r.priority]
        or (rank[o.priority] == rank[r.priority] and (t < mine or (t == mine and rid < r.id)))
      if ahead then position = position + 1 end
    end
  end
end
local on_call = 0
for _, iid in ipairs(redis.call('SMEMBERS', k('spk:' .. r.language))) do
  local it = get(k('it:' .. iid))
  if it and it.availability == 'available' then on_call = on_call + 1 end
end
table.insert(out, 'q')
table.insert(out, tostring(position))
table.insert(out, tostring(on_call))
return out
