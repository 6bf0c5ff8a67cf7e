-- ARGV: offer json, deadline (ms), exclusive ("1": fail if the request has an open offer)
local o = cjson.decode(ARGV[1])
local rkey = k('rq:' .. o.request)
local r = get(rkey)
if not r then return fail('not_found', 'request ' .. o.request) end
if not (r.state == 'queued' or r.state == 'offered') then return fail('request_state', r.state) end
local it = get(k('it:' .. o.interpreter))
if not it then return fail('not_found', 'interpreter ' .. o.interpreter) end
if it.availability ~= 'available' or it.session ~= null then return fail('not_free') end
if redis.call('SCARD', k('openi:' .. o.interpreter)) > 0 then return fail('busy') end
if ARGV[3] == '1' and redis.call('SCARD', k('openr:' .. o.request)) > 0 then
  return fail('request_busy')
end
local was = r.state
r.state = 'offered'
r.updated_at = o.created_at
r.offers_made = r.offers_made + 1
save_request(rkey, r, was)
redis.call('RPUSH', k('ofr:' .. o.request), o.id)
redis.call('RPUSH', k('ofi:' .. o.interpreter), o.id)
redis.call('ZADD', k('open'), tonumber(ARGV[2]), o.id)
redis.call('SADD', k('openr:' .. o.request), o.id)
redis.call('SADD', k('openi:' .. o.interpreter), o.id)
redis.call('SET', k('of:' .. o.id), ARGV[1])
-- Its place counts the offer: the only one under the sequential policy (checked above).
emit('r', r, nil, ARGV[3] == '1' and 1 or nil)
emit('o', o)
return done()
