-- ARGV: request id, tier, now
local key = k('rq:' .. ARGV[1])
local r = get(key)
if not r then return fail('not_found', 'request ' .. ARGV[1]) end
local tier = tonumber(ARGV[2])
if (r.state == 'queued' or r.state == 'offered') and (r.tier or 0) < tier then
  r.tier = tier
  r.updated_at = ARGV[3]
  put(key, r)
  emit('r', r)
end
return done()
