-- Run once per connection, before anything else. Data written before the per-language
-- queue lists existed (`pqs`, `pqs:g:<agrupación>`) gets them from the waiting requests
-- (then in the set `pend`, which nothing reads any more).
if redis.call('EXISTS', k('pqs:v2')) == 0 then
  for _, rid in ipairs(redis.call('SMEMBERS', k('pend'))) do
    local r = get(k('rq:' .. rid))
    if r then
      redis.call('SADD', k('pqs'), r.language)
      if r.group and r.group ~= null then redis.call('SADD', k('pqs:g:' .. r.group), r.language) end
    end
  end
  redis.call('DEL', k('pend'))
  redis.call('SET', k('pqs:v2'), '1')
end
-- Data written before requests were listed per state (`rqs:<state>`) gets those lists,
-- and `rqs` its scores in µs (from ms: the order within a millisecond is the id's).
if redis.call('EXISTS', k('rqs:v3')) == 0 then
  local all = redis.call('ZRANGE', k('rqs'), 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    local us = string.format('%.0f', tonumber(all[i + 1]) * 1000)
    redis.call('ZADD', k('rqs'), us, all[i])
    local r = get(k('rq:' .. all[i]))
    if r then redis.call('ZADD', k('rqs:' .. r.state), us, r.id) end
  end
  redis.call('SET', k('rqs:v3'), '1')
end
return out
