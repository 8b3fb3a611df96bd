-- Counts one failed authentication under one key (libs/store AbuseStore.countFailures).
-- KEYS[1]: the counter. ARGV[1]: the window in ms, which the first failure starts.
-- Returns the count in the current window (1 again once the previous window has ended).
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
