-- ARGV: offer id, interpreter id, now, now (ms)
local oid, by, now, now_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local o = get(k('of:' .. oid))
if not o then return fail('not_found', 'offer ' .. oid) end
if o.interpreter ~= by then return fail('not_yours') end
local deadline = redis.call('ZSCORE', k('open'), oid)
if o.outcome ~= null or not deadline or tonumber(deadline) <= now_ms then
  return fail('offer_closed', cjson.encode(o))
end
local rid = o.request
close(oid, 'accepted', now)
for _, other in ipairs(open_of_request(rid)) do close(other, 'withdrawn', now) end
for _, other in ipairs(open_of_interpreter(by)) do
  local c = close(other, 'withdrawn', now)
  if c then requeue_if_idle(c.request, now) end
end
local rkey = k('rq:' .. rid)
local r = get(rkey)
local was = r.state
r.state = 'connected'
r.interpreter = by
r.connected_at = now
r.updated_at = now
save_request(rkey, r, was)
emit('r', r)
leave_queue(r)
local ikey = k('it:' .. by)
local it = get(ikey)
it.session = rid
it.missed_in_row = 0
put(ikey, it)
index_interpreter(it, now_ms)
emit('i', it, 'requested')
return done()
