-- ARGV: (none). The requests whose call is held by an instance without a live lease
-- (`lease:<instance>`, set with an expiry by the instance while it lives). Read only.
local held = redis.call('HGETALL', k('held'))
local alive = {}
local lapsed = {}
for i = 1, #held, 2 do
  local id, owner = held[i], held[i + 1]
  if alive[owner] == nil then
    alive[owner] = redis.call('EXISTS', k('lease:' .. owner)) == 1
  end
  if not alive[owner] then table.insert(lapsed, id) end
end
return lapsed
