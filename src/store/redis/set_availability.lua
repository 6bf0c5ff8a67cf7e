-- ARGV: id, availability, now
local id, availability, now = ARGV[1], ARGV[2], ARGV[3]
local key = k('it:' .. id)
local it = get(key)
if not it then return fail('not_found', 'interpreter ' .. id) end
if it.availability == availability then return done() end
it.availability = availability
it.missed_in_row = 0
if availability == 'available' and it.session == null then it.idle_since = now end
put(key, it)
emit('i', it, 'requested')
if availability == 'offline' then withdraw_interpreter(id, 'declined', now) end
return done()
