-- Compare-and-set commit of versioned records, all or nothing (libs/store RecordStore.commit).
-- A record is stored as "<version>:<value>".
-- KEYS[i]: record keys (one hash slot).
-- ARGV[4i-3..4i]: expected version, "set" or "del", value, ttl in ms.
-- Returns {1, versions...} or {0, conflicting keys...}.
local conflicts = {}
for i = 1, #KEYS do
  local current = redis.call('GET', KEYS[i])
  local version = 0
  if current then
    version = tonumber(string.match(current, '^(%d+):'))
  end
  if version ~= tonumber(ARGV[4 * i - 3]) then
    conflicts[#conflicts + 1] = KEYS[i]
  end
end
if #conflicts > 0 then
  return {0, unpack(conflicts)}
end
local versions = {}
for i = 1, #KEYS do
  local next_version = tonumber(ARGV[4 * i - 3]) + 1
  if ARGV[4 * i - 2] == 'del' then
    redis.call('DEL', KEYS[i])
    versions[i] = 0
  else
    redis.call('SET', KEYS[i], next_version .. ':' .. ARGV[4 * i - 1], 'PX', ARGV[4 * i])
    versions[i] = next_version
  end
end
return {1, unpack(versions)}
