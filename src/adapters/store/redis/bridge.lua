-- ARGV: request id, outcome (connected | failed), now, now (ms), created (ms)
local id, outcome, now, now_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = k('rq:' .. id)
local r = get(key)
if not r then return fail('not_found', 'request ' .. id) end
if r.state ~= 'connected' or (r.bridged_at and r.bridged_at ~= null) then
  return fail('request_state', r.state)
end
r.updated_at = now
if outcome == 'connected' then
  r.bridged_at = now
  put(key, r)
  emit('r', r)
  return done()
end
-- The bridge failed: the request waits again, in its place by creation time.
local by = r.interpreter
r.state = 'queued'
r.interpreter = null
r.connected_at = null
save_request(key, r, 'connected')
join_queue(r, tonumber(ARGV[5]))
emit('r', r)
end_session(by, id, now, now_ms, '', nil)
return done()
