-- Drops the bans that have ended and returns the rest (libs/store AbuseStore.bans).
-- KEYS[1]: sorted set address -> until; KEYS[2]: hash address -> ban JSON (one hash tag).
-- ARGV[1]: now (epoch ms); a ban has ended when until <= now.
-- Returns the JSON of every ban still in force, in no particular order.
local ended = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
-- HDEL in chunks: unpack() of a very long list would overflow the Lua stack.
for i = 1, #ended, 1000 do
  redis.call('HDEL', KEYS[2], unpack(ended, i, math.min(i + 999, #ended)))
end
if #ended > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
end
return redis.call('HVALS', KEYS[2])
