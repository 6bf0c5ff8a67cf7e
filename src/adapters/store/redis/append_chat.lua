-- ARGV: message json (text sealed, bound to its seq), until (ms, the service's clock),
-- lifetime (ms; 0: gone at once). Appends the message to
-- its request's conversation if its seq is the next number (else fails with the next
-- number), renews the conversation's expiry, publishes it. The JSON is stored as given.
local msg = cjson.decode(ARGV[1])
local key = k('chat:' .. msg.request)
local next = redis.call('LLEN', key) + 1
if tonumber(msg.seq) ~= next then return fail('chat_seq', tostring(next)) end
local json = ARGV[1]
redis.call('RPUSH', key, json)
redis.call('PEXPIRE', key, ARGV[3])
-- Conversations by expiry, for listing the live ones.
redis.call('ZADD', k('chats'), ARGV[2], msg.request)
table.insert(out, 'm')
table.insert(out, json)
return done()
