-- ARGV: the caller's conversation memo, fresh id, reply memo prefix, sealed reply address
-- for the fresh id, lifetime (ms, > 0). The caller's message joins the conversation the
-- memo names unless its request is over (then, or with none, the fresh one opens, with
-- its reply address). Both memos are renewed. Answers id, opened ("1"/"0"), has_reply
-- ("1"/"0"), the next message number, and the request's json ("" before one is made).
local conv = k('memo:' .. ARGV[1])
local life = ARGV[5]
local id = redis.call('GET', conv)
local req = false
if id then
  req = redis.call('GET', k('rq:' .. id))
  if req then
    local state = cjson.decode(req).state
    if state == 'completed' or state == 'cancelled' or state == 'unfilled' then
      id = false
      req = false
    end
  end
end
local opened = '0'
if not id then
  id = ARGV[2]
  opened = '1'
  redis.call('SET', k('memo:' .. ARGV[3] .. id), ARGV[4], 'PX', life)
end
redis.call('SET', conv, id, 'PX', life)
local has_reply = redis.call('PEXPIRE', k('memo:' .. ARGV[3] .. id), life)
local next = redis.call('LLEN', k('chat:' .. id)) + 1
return {'ok', id, opened, tostring(has_reply), tostring(next), req or ''}
