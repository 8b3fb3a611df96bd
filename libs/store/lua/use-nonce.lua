-- Uses a digest nonce (RFC 2617 nonce-count replay protection).
-- KEYS[1]: the nonce; its value is the highest nonce count used so far.
-- ARGV[1]: the nonce count, or "" when the request carries none.
-- Returns "unknown", "replay" or "ok".
local last = redis.call('GET', KEYS[1])
if not last then return 'unknown' end
if ARGV[1] == '' then return 'ok' end
local nc = tonumber(ARGV[1])
if nc <= tonumber(last) then return 'replay' end
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
return 'ok'
