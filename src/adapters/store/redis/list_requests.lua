-- ARGV: states ("," separated; "" for every state), created from (µs, inclusive; "" for
-- none), created before (µs, exclusive; "" for none), cursor µs and id ("" for none), how
-- many. Answers {"ok", json, ...}: up to that many requests, newest first (creation time,
-- then id, descending), after the cursor. Each state's list is read only as far as needed.
local from = ARGV[2] ~= '' and tonumber(ARGV[2]) or nil
local before = ARGV[3] ~= '' and tonumber(ARGV[3]) or nil
local cus = ARGV[4] ~= '' and tonumber(ARGV[4]) or nil
local cid = ARGV[5]
local n = tonumber(ARGV[6])
local function num(x) return string.format('%.0f', x) end
local low = from and num(from) or '-inf'

local keys = {}
if ARGV[1] == '' then
  keys = {k('rqs')}
else
  for st in string.gmatch(ARGV[1], '[^,]+') do table.insert(keys, k('rqs:' .. st)) end
end

-- Up to n entries {µs, id} of one list, in listing order.
local function page_of(key)
  local got = {}
  local high = before
  if cus then
    -- As old as the cursor, with a smaller id (same scores come in reverse id order).
    if (not from or cus >= from) and (not before or cus < before) then
      for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', key, num(cus), num(cus))) do
        if id < cid then
          table.insert(got, {cus, id})
          if #got >= n then return got end
        end
      end
    end
    if not high or cus < high then high = cus end
  end
  local top = high and ('(' .. num(high)) or '+inf'
  local rows = redis.call('ZREVRANGEBYSCORE', key, top, low, 'WITHSCORES', 'LIMIT', 0, n - #got)
  for i = 1, #rows, 2 do table.insert(got, {tonumber(rows[i + 1]), rows[i]}) end
  return got
end

local all = {}
for _, key in ipairs(keys) do
  for _, e in ipairs(page_of(key)) do table.insert(all, e) end
end
if #keys > 1 then
  table.sort(all, function(a, b)
    if a[1] ~= b[1] then return a[1] > b[1] end
    return a[2] > b[2]
  end)
end
local reply = {'ok'}
for i = 1, math.min(n, #all) do
  local json = redis.call('GET', k('rq:' .. all[i][2]))
  if json then table.insert(reply, json) end
end
return reply
