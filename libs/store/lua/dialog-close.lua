-- A dialog ended (its BYE): gone from the hash and the expiry index. KEYS as dialog-open.lua; ARGV[1] id.
redis.call('HDEL', KEYS[1], ARGV[1])
return redis.call('ZREM', KEYS[2], ARGV[1])
