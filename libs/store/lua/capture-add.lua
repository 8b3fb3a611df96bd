-- Captured SIP messages of calls (the call-flow page): each appended to its call's list (at most
-- ARGV[4] kept, the list expiring ARGV[2] ms after its last message), the call's summary updated,
-- and the index of calls by last message moved. Calls older than the retention, and the oldest
-- beyond ARGV[3] calls, are forgotten (their lists expire by themselves).
-- KEYS[1] the index (sorted set: call id -> last message time), KEYS[2] the summaries (hash: call
-- id -> JSON), KEYS[3..] each entry's message list. ARGV[1] now (epoch ms), ARGV[2..4] the limits,
-- then per entry: call id, message JSON, facts JSON ({at, method?, from?, to?, cseqMethod?,
-- status?}). The summary rules are capture-rules.ts's (the store contract holds both to them).
local now = tonumber(ARGV[1])
local retention = tonumber(ARGV[2])
local max_calls = tonumber(ARGV[3])
local max_messages = tonumber(ARGV[4])
local entries = (#ARGV - 4) / 3
for i = 0, entries - 1 do
  local call_id = ARGV[5 + i * 3]
  local facts = cjson.decode(ARGV[7 + i * 3])
  local list = KEYS[3 + i]
  redis.call('RPUSH', list, ARGV[6 + i * 3])
  redis.call('LTRIM', list, -max_messages, -1)
  redis.call('PEXPIRE', list, retention)
  local raw = redis.call('HGET', KEYS[2], call_id)
  local summary
  if raw then
    summary = cjson.decode(raw)
  else
    summary = { callId = call_id, startedAt = facts.at, messages = 0, status = 0 }
  end
  if summary.method == nil and facts.method ~= nil then
    summary.method = facts.method
    summary.from = facts.from
    summary.to = facts.to
  end
  -- The final status of the call's first request (0: none yet): a 2xx wins over any other final.
  if facts.status ~= nil and facts.status >= 200 and facts.cseqMethod == summary.method then
    if summary.status < 200 or summary.status >= 300 then summary.status = facts.status end
  end
  if summary.lastAt == nil or facts.at > summary.lastAt then summary.lastAt = facts.at end
  summary.messages = summary.messages + 1
  redis.call('HSET', KEYS[2], call_id, cjson.encode(summary))
  redis.call('ZADD', KEYS[1], summary.lastAt, call_id)
end
local forget = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - retention, 'LIMIT', 0, 1000)
local excess = redis.call('ZCARD', KEYS[1]) - #forget - max_calls
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], #forget, #forget + excess - 1)) do forget[#forget + 1] = id end
end
for _, id in ipairs(forget) do
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
end
return entries
