-- The summaries of the ARGV[1] calls whose last message is the most recent, most recent first.
-- KEYS[1] the index, KEYS[2] the summaries (capture-add.lua).
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
local result = {}
for _, value in ipairs(redis.call('HMGET', KEYS[2], unpack(ids))) do
  if value then result[#result + 1] = value end
end
return result
