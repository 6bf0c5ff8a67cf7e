-- ARGV: id, now
local id, now = ARGV[1], ARGV[2]
local it = get(k('it:' .. id))
if not it then return fail('not_found', 'interpreter ' .. id) end
if it.session ~= null then return fail('in_session', it.session) end
withdraw_interpreter(id, 'withdrawn', now)
for _, l in ipairs(it.languages) do redis.call('SREM', k('spk:' .. l.tag), id) end
unindex_interpreter(it)
redis.call('DEL', k('it:' .. id))
redis.call('SREM', k('its'), id)
table.insert(out, 'd')
table.insert(out, cjson.encode(id))
local tok = redis.call('HGET', k('tokof'), id)
if tok then
  redis.call('HDEL', k('tok'), tok)
  redis.call('HDEL', k('tokof'), id)
end
return done()
