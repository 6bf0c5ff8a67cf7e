-- ARGV: id, availability, now, now (ms), reason
local id, availability, now, now_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = k('it:' .. id)
local it = get(key)
if not it then return fail('not_found', 'interpreter ' .. id) end
if it.availability == availability then return done() end
it.availability = availability
it.missed_in_row = 0
if availability == 'available' and it.session == null then it.idle_since = now end
put(key, it)
index_interpreter(it, now_ms)
emit('i', it, ARGV[5])
if availability == 'offline' then withdraw_interpreter(id, 'declined', now) end
return done()
