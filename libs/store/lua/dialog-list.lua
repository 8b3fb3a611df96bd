-- The live dialogs: those whose end (ARGV[1], epoch ms) has passed are removed first (at most 1000
-- per call); then the number left and the descriptions of the ARGV[2] that end last (the most
-- recent, as every dialog gets the same lifetime). KEYS as dialog-open.lua.
local ended = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, id in ipairs(ended) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local total = redis.call('ZCARD', KEYS[2])
local limit = tonumber(ARGV[2])
local result = { total }
if limit > 0 then
  local ids = redis.call('ZREVRANGE', KEYS[2], 0, limit - 1)
  if #ids > 0 then
    for _, value in ipairs(redis.call('HMGET', KEYS[1], unpack(ids))) do
      if value then result[#result + 1] = value end
    end
  end
end
return result
