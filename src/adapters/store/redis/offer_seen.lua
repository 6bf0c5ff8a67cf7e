-- ARGV: offer id, now (ms)
-- The interpreter was shown (or rung) this open offer: if it expires now, it is a miss.
-- Kept a minute past the deadline (the expiry reads it then), then Redis drops it.
local deadline = redis.call('ZSCORE', k('open'), ARGV[1])
if deadline then
  local ttl = math.max(1, tonumber(deadline) - tonumber(ARGV[2])) + 60000
  redis.call('SET', k('seen:' .. ARGV[1]), '1', 'PX', string.format('%.0f', ttl))
end
return out
