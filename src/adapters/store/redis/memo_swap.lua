-- ARGV: key, has_expected ("1"/"0"), expected, value, lifetime (ms; 0: gone at once). Sets the memo only if it
-- holds what the caller expects (nothing, when has_expected is "0"). Answers "1" or "0".
local key = k('memo:' .. ARGV[1])
local current = redis.call('GET', key)
if ARGV[2] == '1' then
  if current ~= ARGV[3] then return {'ok', '0'} end
elseif current then
  return {'ok', '0'}
end
if tonumber(ARGV[5]) > 0 then
  redis.call('SET', key, ARGV[4], 'PX', ARGV[5])
else
  redis.call('DEL', key)
end
return {'ok', '1'}
