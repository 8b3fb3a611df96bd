-- Adds or replaces a ban and bumps the ban-list version, atomically (libs/store AbuseStore.ban).
-- KEYS[1]: sorted set address -> until; KEYS[2]: hash address -> ban JSON; KEYS[3]: version
-- (one hash tag). ARGV[1]: address, ARGV[2]: until (epoch ms), ARGV[3]: the ban as JSON.
-- Returns the new version.
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return redis.call('INCR', KEYS[3])
