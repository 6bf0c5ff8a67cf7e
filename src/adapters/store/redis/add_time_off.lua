-- ARGV: id, exception json, empty schedule json (for an interpreter without one)
local id = ARGV[1]
local key = k('it:' .. id)
local it = get(key)
if not it then return fail('not_found', 'interpreter ' .. id) end
if it.schedule == nil or it.schedule == cjson.null then
  it.schedule = cjson.decode(ARGV[3])
end
local exceptions = it.schedule.exceptions
if exceptions == nil or exceptions == cjson.null or next(exceptions) == nil then
  exceptions = {}
end
table.insert(exceptions, cjson.decode(ARGV[2]))
it.schedule.exceptions = exceptions
it.revision = (tonumber(it.revision) or 0) + 1
put(key, it)
emit('i', it, 'requested')
return done()
