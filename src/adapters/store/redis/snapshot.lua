-- ARGV: scope (best | everyone), now (ms), intelligibility (json: tag → tags), focus (json:
-- {everything, languages, interpreters, groups: tag → agrupación where known}). The
-- agrupación of a language whose focus does not say is read from its first request.
-- The focus names what changed; only the queues it reaches are read: its languages, and
-- for each interpreter named, every language whose requests may reach them (theirs, the
-- languages listing theirs as intelligible, the waiting variants of their agrupaciones).
-- Of each such queue only the head is read: as many requests, in serving order, as there
-- are free interpreters who could take them (in the language or its agrupación) plus a
-- margin, at most HEAD. Those are the ones an offer can go to, and the first to reach
-- their widening and give-up times; the rest wait their turn.
-- Answers {"ok", "l", tag..., "r", request json, "a", offer json..., "i", interpreter json,
-- ["h"], "o", offer id, request id, interpreter id, deadline..., ["w", deadline ms],
-- ["m"]}: the languages read; waiting requests with every offer made for them; free
-- interpreters a waiting request may reach (its language, the variants listed as
-- intelligible with it, its agrupación: the best few of each, or all), "h" after one who
-- holds an open offer; open offers past their deadline; the next deadline after now.
local scope = ARGV[1]
local now_ms = tonumber(ARGV[2])
local intelligible = cjson.decode(ARGV[3])
local focus = cjson.decode(ARGV[4])
local HEAD = 200

local groups = focus.groups
-- Queue languages to read, each with its agrupación (false: not known yet).
local group_of, order = {}, {}
-- Interpreters read to expand the focus, kept for the walks below.
local fetched = {}
local function want(tag, group)
  if group_of[tag] == nil then
    group_of[tag] = group or groups[tag] or false
    table.insert(order, tag)
  end
end
if focus.everything then
  for _, tag in ipairs(redis.call('SMEMBERS', k('pqs'))) do want(tag) end
else
  for _, tag in ipairs(focus.languages) do want(tag) end
  for _, iid in ipairs(focus.interpreters) do
    local raw = redis.call('GET', k('it:' .. iid))
    fetched[iid] = raw
    local it = raw and cjson.decode(raw)
    if it then
      for _, l in ipairs(it.languages) do
        local g = (l.group and l.group ~= null) and l.group or nil
        want(l.tag)
        for lang, vs in pairs(intelligible) do
          for _, v in ipairs(vs) do
            if v == l.tag then want(lang) end
          end
        end
        if g then
          for _, tag in ipairs(redis.call('SMEMBERS', k('pqs:g:' .. g))) do want(tag, g) end
        end
      end
    end
  end
end

local waiting = {}
local more = false
for _, tag in ipairs(order) do
  table.insert(out, 'l')
  table.insert(out, tag)
  -- A short queue is read whole; a longer one as far as who could serve it reaches.
  local n = 16
  local head = redis.call('ZRANGE', k('pq:' .. tag), 0, n - 1)
  if #head == n then
    local reach = redis.call('ZCARD', k('free:' .. tag))
    local group = group_of[tag]
    if group == false then
      local r = get(k('rq:' .. head[1]))
      group = r and r.group ~= null and r.group or nil
    end
    if group then reach = reach + redis.call('ZCARD', k('free:g:' .. group)) end
    n = math.min(HEAD, reach + 16)
    if n > 16 then head = redis.call('ZRANGE', k('pq:' .. tag), 0, n - 1) end
    if #head == n and redis.call('ZCARD', k('pq:' .. tag)) > n then more = true end
  end
  for _, rid in ipairs(head) do table.insert(waiting, rid) end
end

-- Per index key (language, or "g:" agrupación): waiting requests plus interpreters already
-- asked, to size `best`.
-- Reach keys in order; per key, the requests (indexes into `weight`) it is a key of.
local reach_keys, reached, weight = {}, {}, {}
for _, rid in ipairs(waiting) do
  local r = redis.call('GET', k('rq:' .. rid))
  if r then
    table.insert(out, 'r')
    table.insert(out, r)
    local req = cjson.decode(r)
    -- A request never offered has no offers to list.
    local offers = {}
    if (tonumber(req.offers_made) or 1) > 0 then
      offers = redis.call('LRANGE', k('ofr:' .. rid), 0, -1)
    end
    -- The matcher's order of reach: the language, its intelligible variants, those
    -- registered for the whole agrupación, anyone in it.
    local keys = {req.language}
    for _, t in ipairs(intelligible[req.language] or {}) do table.insert(keys, t) end
    if req.group and req.group ~= null then
      if req.group ~= req.language then table.insert(keys, req.group) end
      table.insert(keys, 'g:' .. req.group)
    end
    -- Each request may take one interpreter and skip everyone it asked before.
    table.insert(weight, 1 + #offers)
    for _, key in ipairs(keys) do
      if not reached[key] then
        reached[key] = {}
        table.insert(reach_keys, key)
      end
      table.insert(reached[key], #weight)
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

-- Free interpreters, walked best first per reach key. Under `everyone`, all of them.
-- Under `best`, each key's walk stops once it holds, among those who can take an offer
-- now (not holding one, not in wrap-up), more than every request that could take one of
-- them may take or skip: the requests of this key and of every key whose walk read one
-- of the same interpreters, each counting one plus everyone it asked before. Then no
-- request ever finds a walk used up, so it makes the pick it would make with everyone
-- read (a property test compares the two). Walks grow until that holds for every key
-- (a walk that grows may meet another's).
local can = {}       -- interpreter → can take an offer now (false once read and not)
local readers = {}   -- interpreter → the keys whose walks read them
local walks = {}     -- key → {ids read, next start, done}
local function read(iid)
  if can[iid] ~= nil then return end
  can[iid] = false
  local raw = fetched[iid] or redis.call('GET', k('it:' .. iid))
  if not raw then return end
  table.insert(out, 'i')
  table.insert(out, raw)
  local holds = redis.call('SCARD', k('openi:' .. iid)) > 0
  if holds then table.insert(out, 'h') end
  local ready = 0
  if cjson.decode(raw).ready_at ~= null then
    ready = tonumber(redis.call('HGET', k('readyms'), iid) or '0')
  end
  can[iid] = not holds and ready <= now_ms
end
-- How many more of those who can take an offer the walk of `key` needs.
local function need(key)
  local walk, keys, requests, able = walks[key], {[key] = true}, {}, 0
  for _, iid in ipairs(walk.ids) do
    if can[iid] then able = able + 1 end
    for other in pairs(readers[iid]) do keys[other] = true end
  end
  local n = 0
  for other in pairs(keys) do
    for _, i in ipairs(reached[other]) do
      if not requests[i] then
        requests[i] = true
        n = n + weight[i]
      end
    end
  end
  return n - able
end
for _, key in ipairs(reach_keys) do walks[key] = {ids = {}, start = 0, done = false} end
local grown = true
while grown do
  grown = false
  for _, key in ipairs(reach_keys) do
    local walk = walks[key]
    local short = (scope == 'best') and need(key) or 64
    if not walk.done and short > 0 then
      local page = short
      local ids = redis.call('ZRANGE', k('free:' .. key), walk.start, walk.start + page - 1)
      walk.start = walk.start + page
      if #ids < page then walk.done = true end
      for _, iid in ipairs(ids) do
        read(iid)
        readers[iid] = readers[iid] or {}
        readers[iid][key] = true
        table.insert(walk.ids, iid)
      end
      grown = true
    end
  end
end
if more then table.insert(out, 'm') end

-- Open offers past their deadline, whatever the focus, and when the next one falls due.
local first = redis.call('ZRANGE', k('open'), 0, 0, 'WITHSCORES')
if first[2] and tonumber(first[2]) <= now_ms then
  for _, oid in ipairs(redis.call('ZRANGEBYSCORE', k('open'), '-inf', now_ms, 'LIMIT', 0, 100)) do
    local o = get(k('of:' .. oid))
    if o then
      table.insert(out, 'o')
      table.insert(out, o.id)
      table.insert(out, o.request)
      table.insert(out, o.interpreter)
      table.insert(out, o.deadline)
    end
  end
  first = redis.call('ZRANGEBYSCORE', k('open'), '(' .. now_ms, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
end
if first[2] then
  table.insert(out, 'w')
  table.insert(out, first[2])
end
return out
