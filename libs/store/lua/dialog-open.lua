-- A dialog confirmed: its description under its id, and its end in the expiry index.
-- KEYS[1] the dialogs' hash, KEYS[2] their expiry index (sorted set); ARGV[1] id, ARGV[2] JSON,
-- ARGV[3] epoch ms at which it ends unless closed before.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
