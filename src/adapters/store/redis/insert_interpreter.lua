-- ARGV: interpreter json, token hash ("" for none), idle since (ms)
local it = cjson.decode(ARGV[1])
if redis.call('SISMEMBER', k('its'), it.id) == 1 then return fail('exists', 'interpreter ' .. it.id) end
if ARGV[2] ~= '' then
  if redis.call('HEXISTS', k('tok'), ARGV[2]) == 1 then return fail('exists', 'token') end
  redis.call('HSET', k('tok'), ARGV[2], it.id)
  redis.call('HSET', k('tokof'), it.id, ARGV[2])
end
redis.call('SADD', k('its'), it.id)
redis.call('SET', k('it:' .. it.id), ARGV[1])
for _, l in ipairs(it.languages) do redis.call('SADD', k('spk:' .. l.tag), it.id) end
index_interpreter(it, tonumber(ARGV[3]))
emit('i', it, 'requested')
return done()
