-- ARGV: created before (µs), at most how many. Forgets finished requests created before
-- then (oldest first) with their offers, conversations and offer marks; answers
-- {"ok", count}. An interpreter's offer history (`ofi:<id>`, oldest first) loses its head
-- while the head names an offer gone; an entry behind an offer still kept goes later.
local before, max = '(' .. ARGV[1], tonumber(ARGV[2])
local n = 0
local touched = {}
for _, st in ipairs({'completed', 'cancelled', 'unfilled'}) do
  if n >= max then break end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', k('rqs:' .. st), '-inf', before, 'LIMIT', 0, max - n)) do
    for _, oid in ipairs(redis.call('LRANGE', k('ofr:' .. id), 0, -1)) do
      local o = get(k('of:' .. oid))
      if o then touched[o.interpreter] = true end
      redis.call('DEL', k('of:' .. oid), k('seen:' .. oid))
    end
    redis.call('DEL', k('ofr:' .. id), k('rq:' .. id), k('chat:' .. id))
    redis.call('ZREM', k('rqs'), id)
    redis.call('ZREM', k('rqs:' .. st), id)
    redis.call('ZREM', k('chats'), id)
    redis.call('HDEL', k('held'), id)
    n = n + 1
  end
end
for iid in pairs(touched) do
  local key = k('ofi:' .. iid)
  while true do
    local head = redis.call('LINDEX', key, 0)
    if not head or redis.call('EXISTS', k('of:' .. head)) == 1 then break end
    redis.call('LPOP', key)
  end
end
return {'ok', tostring(n)}
