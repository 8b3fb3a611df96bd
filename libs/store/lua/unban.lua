-- Lifts a ban (libs/store AbuseStore.unban). KEYS as in ban.lua.
-- ARGV[1]: address, ARGV[2]: now (epoch ms).
-- Removes the address's entry; returns 1 and bumps the version only if the ban was still in force
-- (an ended ban is dropped silently, as bans.lua would), else 0.
local until_ms = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if not until_ms then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
if tonumber(until_ms) > tonumber(ARGV[2]) then
  redis.call('INCR', KEYS[3])
  return 1
end
return 0
