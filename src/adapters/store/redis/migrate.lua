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
return out
