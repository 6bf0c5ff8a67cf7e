-- ARGV: requests (json: [{id, language, group}]).
-- Answers {"ok", "p", id, "position,on call,open offers", ...} for those still waiting
-- (in their language's queue): a few index reads each, never a read of the queue.
for _, r in ipairs(cjson.decode(ARGV[1])) do
  local place = place_of(r)
  if place then
    table.insert(out, 'p')
    table.insert(out, r.id)
    table.insert(out, place)
  end
end
return out
