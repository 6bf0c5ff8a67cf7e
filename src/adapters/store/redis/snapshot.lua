-- ARGV: scope (requests | best | everyone), now (ms), intelligibility (json: tag → tags).
-- For matching (best, everyone) only the head of each language's queue is read: as many
-- requests, in serving order, as there are free interpreters who could take them (in the
-- language or its agrupación) plus a margin, at most HEAD. Those are the ones an offer can
-- go to, and the first to reach their widening and give-up times; the rest wait their
-- turn. `requests` reads them all (queue positions).
-- Answers {"ok", "r", request json, "a", offer json..., "i", interpreter json, "o", offer
-- id, request id, interpreter id, deadline...}: waiting requests with every offer made for
-- them, free interpreters a waiting request may reach (its language, the variants listed
-- as intelligible with it, its agrupación: none, the best few of each, or all), open offers.
local scope = ARGV[1]
local intelligible = cjson.decode(ARGV[3])
local langs = {}
-- Per index key (language, or "g:" agrupación): waiting requests plus interpreters already
-- asked, to size `best`.
local wanted = {}
local HEAD = 200
local waiting
local more = false
if scope == 'requests' then
  waiting = redis.call('SMEMBERS', k('pend'))
else
  -- Written before `pqs` existed: list the languages once.
  if redis.call('EXISTS', k('pqs')) == 0 then
    for _, rid in ipairs(redis.call('SMEMBERS', k('pend'))) do
      local r = get(k('rq:' .. rid))
      if r then redis.call('SADD', k('pqs'), r.language) end
    end
  end
  waiting = {}
  for _, tag in ipairs(redis.call('SMEMBERS', k('pqs'))) do
    local first = redis.call('ZRANGE', k('pq:' .. tag), 0, 0)[1]
    local r = first and get(k('rq:' .. first))
    if r then
      local reach = redis.call('ZCARD', k('free:' .. tag))
      if r.group and r.group ~= null then reach = reach + redis.call('ZCARD', k('free:g:' .. r.group)) end
      local n = math.min(HEAD, reach + 16)
      for _, rid in ipairs(redis.call('ZRANGE', k('pq:' .. tag), 0, n - 1)) do
        table.insert(waiting, rid)
      end
      if redis.call('ZCARD', k('pq:' .. tag)) > n then more = true end
    end
  end
end
for _, rid in ipairs(waiting) do
  local r = redis.call('GET', k('rq:' .. rid))
  if r then
    table.insert(out, 'r')
    table.insert(out, r)
    local req = cjson.decode(r)
    local offers = redis.call('LRANGE', k('ofr:' .. rid), 0, -1)
    local keys = {req.language}
    for _, t in ipairs(intelligible[req.language] or {}) do table.insert(keys, t) end
    if req.group and req.group ~= null then table.insert(keys, 'g:' .. req.group) end
    for _, key in ipairs(keys) do
      langs[key] = true
      wanted[key] = (wanted[key] or 0) + 1 + #offers
    end
    for _, oid in ipairs(offers) do
      local o = redis.call('GET', k('of:' .. oid))
      if o then
        table.insert(out, 'a')
        table.insert(out, o)
      end
    end
  end
end
local seen = {}
local now_ms = tonumber(ARGV[2])
if scope ~= 'requests' then
  for tag, _ in pairs(langs) do
    -- `best`: walk the language's free interpreters best first until enough of them can
    -- take an offer right now (not holding one, not in wrap-up); the others are carried
    -- too but do not count.
    local quota = wanted[tag] + 4
    local start, page = 0, 32
    while true do
      local ids = redis.call('ZRANGE', k('free:' .. tag), start, start + page - 1)
      for _, iid in ipairs(ids) do
        if not seen[iid] then
          seen[iid] = true
          local raw = redis.call('GET', k('it:' .. iid))
          if raw then
            table.insert(out, 'i')
            table.insert(out, raw)
            local ready = tonumber(redis.call('HGET', k('readyms'), iid) or '0')
            if redis.call('SCARD', k('openi:' .. iid)) == 0 and ready <= now_ms then
              quota = quota - 1
            end
          end
        end
      end
      if #ids < page or (scope == 'best' and quota <= 0) then break end
      start = start + page
    end
  end
end
if more then table.insert(out, 'm') end
local open = redis.call('ZRANGE', k('open'), 0, -1, 'WITHSCORES')
for i = 1, #open, 2 do
  local o = get(k('of:' .. open[i]))
  if o then
    table.insert(out, 'o')
    table.insert(out, o.id)
    table.insert(out, o.request)
    table.insert(out, o.interpreter)
    table.insert(out, o.deadline)
  end
end
return out
