-- ARGV: request json, created (ms)
local r = cjson.decode(ARGV[1])
local key = k('rq:' .. r.id)
if redis.call('EXISTS', key) == 1 then return fail('exists', 'request ' .. r.id) end
redis.call('SET', key, ARGV[1])
redis.call('ZADD', k('rqs'), tonumber(ARGV[2]), r.id)
if r.state == 'queued' or r.state == 'offered' then redis.call('SADD', k('pend'), r.id) end
return out
