-- ARGV: language tag. Answers {"ok", count}.
local n = 0
for _, iid in ipairs(redis.call('SMEMBERS', k('spk:' .. ARGV[1]))) do
  local it = get(k('it:' .. iid))
  if it and it.availability == 'available' then n = n + 1 end
end
table.insert(out, tostring(n))
return out
