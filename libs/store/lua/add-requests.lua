-- Adds request counts to one time window's counters (libs/store AbuseStore.addRequests).
-- KEYS[1]: the window's hash (field: source address, value: requests so far).
-- ARGV[1]: ttl in ms, set when the hash has no expiry yet (at its first addition).
-- ARGV[2i], ARGV[2i+1]: address, count.
-- Returns each address's total after its addition, in the order given.
local totals = {}
for i = 2, #ARGV, 2 do
  totals[#totals + 1] = redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return totals
