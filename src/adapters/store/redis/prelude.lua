-- Shared by every puente script. KEYS[1] is the key prefix, a Redis Cluster hash tag such
-- as "{puente}", so that every key a script touches lives in one slot. The last ARGV is
-- the id of the calling instance, carried with the changes it publishes.
--
-- Entities are JSON strings (the serde form of Interpreter, Request, Offer). A script
-- answers an array: {"ok", kind, json, [reason], ...} listing what it changed (kind "r"
-- request, "o" offer, "i" interpreter followed by the reason), or {"err", kind, detail}.

local P = KEYS[1]
local function k(name) return P .. ':' .. name end
local null = cjson.null

local function get(key)
  local v = redis.call('GET', key)
  if not v then return nil end
  return cjson.decode(v)
end

local function put(key, obj) redis.call('SET', key, cjson.encode(obj)) end

-- Requests are listed by creation time (`rqs`, score µs) and per state (`rqs:<state>`,
-- the same score), so that a page of one state reads only that state. `was` is the state
-- the request had (nil when it is new).
local function save_request(key, r, was)
  put(key, r)
  if was == r.state then return end
  local created = redis.call('ZSCORE', k('rqs'), r.id)
  if was then redis.call('ZREM', k('rqs:' .. was), r.id) end
  if created then redis.call('ZADD', k('rqs:' .. r.state), created, r.id) end
end

local out = {'ok'}
local place_of
-- `open`: the open offers of a request, when the caller knows them.
local function emit(kind, obj, reason, open)
  table.insert(out, kind)
  table.insert(out, cjson.encode(obj))
  if kind == 'i' then table.insert(out, reason or 'requested') end
  -- A waiting request carries where it stands ("p", "position,on call,open offers"), so
  -- that live streams show it without asking.
  if kind == 'r' and (obj.state == 'queued' or obj.state == 'offered') then
    local place = place_of(obj, open)
    if place then
      table.insert(out, 'p')
      table.insert(out, place)
    end
  end
end

local function fail(kind, detail) return {'err', kind, detail or ''} end

-- Publish what changed to every instance ("<origin>\n<json array>"), then answer it.
local ORIGIN = ARGV[#ARGV]
local function done()
  if #out > 1 then
    redis.call('PUBLISH', k('events'), ORIGIN .. '\n' .. cjson.encode(out))
  end
  return out
end

-- Open offers are indexed per request (`openr:<id>`) and per interpreter (`openi:<id>`),
-- so that finding them does not read the whole offer history.
local function open_of_request(rid) return redis.call('SMEMBERS', k('openr:' .. rid)) end
local function open_of_interpreter(iid) return redis.call('SMEMBERS', k('openi:' .. iid)) end

-- Per-language indexes, kept by every script that changes an interpreter:
--   free:<tag>    free interpreters (available, not in a session), best first: score
--                 (5 - proficiency) * 1e13 + idle since (ms)
--   oncall:<tag>  available interpreters, in a session or not
-- and the same per agrupación (`free:g:<tag>`, `oncall:g:<tag>`) for everyone registered
-- anywhere in it: the widest reach of the routing tiers.
-- `idle_ms` is the interpreter's idle-since time in ms (only read when it is free).
local function index_keys(l)
  local keys = {l.tag}
  if l.group and l.group ~= null then table.insert(keys, 'g:' .. l.group) end
  return keys
end

local function index_interpreter(it, idle_ms)
  for _, l in ipairs(it.languages) do
    for _, key in ipairs(index_keys(l)) do
      if it.availability == 'available' then
        redis.call('SADD', k('oncall:' .. key), it.id)
        if it.session == null then
          local score = string.format('%.0f', (5 - l.proficiency) * 1e13 + idle_ms)
          redis.call('ZADD', k('free:' .. key), score, it.id)
        else
          redis.call('ZREM', k('free:' .. key), it.id)
        end
      else
        redis.call('SREM', k('oncall:' .. key), it.id)
        redis.call('ZREM', k('free:' .. key), it.id)
      end
    end
  end
end

local function unindex_interpreter(it)
  for _, l in ipairs(it.languages) do
    for _, key in ipairs(index_keys(l)) do
      redis.call('SREM', k('oncall:' .. key), it.id)
      redis.call('ZREM', k('free:' .. key), it.id)
    end
  end
end

-- Interpreters on call whom a request may reach at its widest (its language, its group).
local function on_call_for(r)
  if r.group and r.group ~= null then
    return #redis.call('SUNION', k('oncall:' .. r.language), k('oncall:g:' .. r.group))
  end
  return redis.call('SCARD', k('oncall:' .. r.language))
end

-- "position,on call,open offers" of a waiting request (nil when not in its queue).
place_of = function(r, known)
  local rank = redis.call('ZRANK', k('pq:' .. r.language), r.id)
  if not rank then return nil end
  -- A queued request has no open offer (that is what queued means).
  local open = 0
  if r.state == 'offered' then open = known or redis.call('SCARD', k('openr:' .. r.id)) end
  return (rank + 1) .. ',' .. on_call_for(r) .. ',' .. open
end

-- Waiting requests, per language in serving order (urgent, then oldest, then id)
-- `pq:<tag>`, score rank * 1e13 + created (ms); `pqs` lists the languages whose queue is
-- not empty (none: nobody waits), and `pqs:g:<agrupación>` those of one agrupación. A
-- request joins and leaves them together.
local function join_queue(r, created_ms)
  local rank = ({urgent = 0, normal = 1})[r.priority]
  redis.call('ZADD', k('pq:' .. r.language), string.format('%.0f', rank * 1e13 + created_ms), r.id)
  redis.call('SADD', k('pqs'), r.language)
  if r.group and r.group ~= null then redis.call('SADD', k('pqs:g:' .. r.group), r.language) end
end

local function leave_queue(r)
  redis.call('ZREM', k('pq:' .. r.language), r.id)
  if redis.call('ZCARD', k('pq:' .. r.language)) == 0 then
    redis.call('SREM', k('pqs'), r.language)
    if r.group and r.group ~= null then redis.call('SREM', k('pqs:g:' .. r.group), r.language) end
  end
end

local function close(oid, outcome, now)
  local key = k('of:' .. oid)
  local o = get(key)
  if not o or o.outcome ~= null then return nil end
  o.outcome = outcome
  o.closed_at = now
  put(key, o)
  redis.call('ZREM', k('open'), oid)
  redis.call('SREM', k('openr:' .. o.request), oid)
  redis.call('SREM', k('openi:' .. o.interpreter), oid)
  emit('o', o)
  return o
end

local function requeue_if_idle(rid, now)
  if #open_of_request(rid) > 0 then return end
  local key = k('rq:' .. rid)
  local r = get(key)
  if r and r.state == 'offered' then
    r.state = 'queued'
    r.updated_at = now
    save_request(key, r, 'offered')
    emit('r', r)
  end
end

local function withdraw_interpreter(iid, outcome, now)
  for _, oid in ipairs(open_of_interpreter(iid)) do
    local o = close(oid, outcome, now)
    if o then requeue_if_idle(o.request, now) end
  end
end

-- Interpreter `iid` leaves its session with request `rid`: free again, after `ready_at`
-- (a timestamp, with `ready_ms` in ms) when given, at once otherwise.
local function end_session(iid, rid, now, now_ms, ready_at, ready_ms)
  if iid == null then return end
  local ikey = k('it:' .. iid)
  local it = get(ikey)
  if not it or it.session ~= rid then return end
  it.session = null
  it.idle_since = now
  if ready_at and ready_at ~= '' then
    it.ready_at = ready_at
    redis.call('HSET', k('readyms'), it.id, ready_ms)
  else
    it.ready_at = null
    redis.call('HDEL', k('readyms'), it.id)
  end
  put(ikey, it)
  index_interpreter(it, now_ms)
  emit('i', it, 'requested')
end
