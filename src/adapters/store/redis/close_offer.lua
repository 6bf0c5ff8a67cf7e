-- ARGV: offer id, outcome (declined | expired), now, max missed offers
local oid, outcome, now, max_missed = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local o = get(k('of:' .. oid))
if not o then return fail('not_found', 'offer ' .. oid) end
if o.outcome ~= null then return fail('offer_closed', cjson.encode(o)) end
close(oid, outcome, now)
requeue_if_idle(o.request, now)
local ikey = k('it:' .. o.interpreter)
local it = get(ikey)
if it then
  -- An answer resets the misses; an expiry is a miss only of an offer the interpreter was
  -- shown or rung. One never delivered (an overloaded server, a client that never got it)
  -- is not theirs to have missed: neither a miss nor an answer.
  if outcome ~= 'expired' then
    it.missed_in_row = 0
    put(ikey, it)
  elseif redis.call('DEL', k('seen:' .. oid)) == 1 then
    it.missed_in_row = it.missed_in_row + 1
    if it.missed_in_row >= max_missed and it.availability == 'available' then
      it.availability = 'offline'
      it.missed_in_row = 0
      put(ikey, it)
      index_interpreter(it, 0)
      emit('i', it, 'missed_offers')
      withdraw_interpreter(o.interpreter, 'withdrawn', now)
    else
      put(ikey, it)
    end
  end
end
return done()
