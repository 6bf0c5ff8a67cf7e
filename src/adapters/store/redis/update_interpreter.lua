-- ARGV: id, profile json ({name, phone, languages, schedule, certification}), now,
-- expected revision ('' for any)
local id, now = ARGV[1], ARGV[3]
local key = k('it:' .. id)
local it = get(key)
if not it then return fail('not_found', 'interpreter ' .. id) end
local revision = tonumber(it.revision) or 0
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= revision then
  return fail('stale_profile', 'interpreter ' .. id)
end
local profile = cjson.decode(ARGV[2])
-- A free interpreter keeps its place: its idle time is the low part of its free score.
local idle_ms = 0
for _, l in ipairs(it.languages) do
  local score = redis.call('ZSCORE', k('free:' .. l.tag), id)
  if score then
    idle_ms = tonumber(score) % 1e13
    break
  end
end
for _, l in ipairs(it.languages) do redis.call('SREM', k('spk:' .. l.tag), id) end
unindex_interpreter(it)
it.name = profile.name
it.phone = profile.phone
it.languages = profile.languages
it.schedule = profile.schedule
it.certification = profile.certification
it.revision = revision + 1
put(key, it)
local speaks = {}
for _, l in ipairs(it.languages) do
  redis.call('SADD', k('spk:' .. l.tag), id)
  speaks[l.tag] = true
end
index_interpreter(it, idle_ms)
emit('i', it, 'requested')
for _, oid in ipairs(open_of_interpreter(id)) do
  local o = get(k('of:' .. oid))
  if o and not speaks[o.language] then
    close(oid, 'withdrawn', now)
    requeue_if_idle(o.request, now)
  end
end
return done()
