-- ARGV: request json, created (ms), created (µs: the listings' order)
local r = cjson.decode(ARGV[1])
local key = k('rq:' .. r.id)
if not redis.call('SET', key, ARGV[1], 'NX') then return fail('exists', 'request ' .. r.id) end
redis.call('ZADD', k('rqs'), ARGV[3], r.id)
redis.call('ZADD', k('rqs:' .. r.state), ARGV[3], r.id)
-- A call held by an instance's telephone bridge: settled if that instance's lease lapses.
if r.held_by and r.held_by ~= cjson.null then redis.call('HSET', k('held'), r.id, r.held_by) end
-- Queued first, so that the change carries where it stands ("p").
join_queue(r, tonumber(ARGV[2]))
emit('r', r)
return done()
