-- ARGV: request json, created (ms)
local r = cjson.decode(ARGV[1])
local key = k('rq:' .. r.id)
if redis.call('EXISTS', key) == 1 then return fail('exists', 'request ' .. r.id) end
redis.call('SET', key, ARGV[1])
redis.call('ZADD', k('rqs'), tonumber(ARGV[2]), r.id)
-- A call held by an instance's telephone bridge: settled if that instance's lease lapses.
if r.held_by and r.held_by ~= cjson.null then redis.call('HSET', k('held'), r.id, r.held_by) end
emit('r', r)
done()
-- Where it stands: place among waiting requests of its language, and interpreters of the
-- language on call. Answered, not published.
join_queue(r, tonumber(ARGV[2]))
local position = redis.call('ZRANK', k('pq:' .. r.language), r.id) + 1
local on_call = on_call_for(r)
table.insert(out, 'q')
table.insert(out, tostring(position))
table.insert(out, tostring(on_call))
return out
