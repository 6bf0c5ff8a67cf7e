-- ARGV: message json (text sealed), until (ms). Appends the message to its request's
-- conversation with the next number, renews the conversation's expiry, publishes it.
local msg = cjson.decode(ARGV[1])
local key = k('chat:' .. msg.request)
msg.seq = redis.call('LLEN', key) + 1
local json = cjson.encode(msg)
redis.call('RPUSH', key, json)
redis.call('PEXPIREAT', key, ARGV[2])
-- Conversations by expiry, for listing the live ones.
redis.call('ZADD', k('chats'), ARGV[2], msg.request)
table.insert(out, 'm')
table.insert(out, json)
return done()
