-- ARGV: id, how (complete | cancel | give_up | lost), now, ready_at ("" for none), now (ms),
-- ready_at (ms)
local id, how, now, ready_at, now_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local key = k('rq:' .. id)
local r = get(key)
if not r then return fail('not_found', 'request ' .. id) end
local pending = r.state == 'queued' or r.state == 'offered'
local final = r.state == 'completed' or r.state == 'cancelled' or r.state == 'unfilled'
local target = ({complete = 'completed', cancel = 'cancelled', give_up = 'unfilled'})[how]
if how == 'lost' then
  -- The call was lost with its instance: connected ends completed, waiting cancelled.
  if final then
    redis.call('HDEL', k('held'), id)
    return done()
  end
  target = (r.state == 'connected') and 'completed' or 'cancelled'
  r.end_reason = 'bridge_lost'
end
if r.state == target then return done() end
local allowed = (how == 'complete' and r.state == 'connected')
  or ((how == 'cancel' or how == 'lost') and not final)
  or (how == 'give_up' and pending)
if not allowed then return fail('request_state', r.state) end
if r.held_by and r.held_by ~= null then redis.call('HDEL', k('held'), id) end
for _, oid in ipairs(open_of_request(id)) do close(oid, 'withdrawn', now) end
local was = r.state
r.state = target
r.updated_at = now
r.finished_at = now
save_request(key, r, was)
emit('r', r)
leave_queue(r)
end_session(r.interpreter, id, now, now_ms, ready_at, ARGV[6])
-- Nobody waiting: freeing an interpreter gives the dispatchers nothing to do.
if redis.call('SCARD', k('pqs')) == 0 then
  table.insert(out, 'n')
  table.insert(out, '1')
end
return done()
