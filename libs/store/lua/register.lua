-- REGISTER processing for one address-of-record, all or nothing (RFC 3261 §10.3 steps 6-7).
-- KEYS[1]: the AOR's bindings hash (field: contact URI key, value: binding JSON).
-- ARGV: now (ms), op ("update" | "remove-all"), Call-ID, CSeq, the most bindings the AOR may hold
--       after an update (0: no limit), then for "update" groups of uriKey, contact, expires (s),
--       q, data.
-- Returns {1, binding JSON...} with the bindings now current, {0, uriKey} when the request is out
-- of order (same Call-ID, CSeq not higher), or {2, count} when the update would add bindings
-- beyond the most allowed: nothing is changed in either case.
local now = tonumber(ARGV[1])
local op = ARGV[2]
local call_id = ARGV[3]
local cseq = tonumber(ARGV[4])
local max_bindings = tonumber(ARGV[5])

local current = {}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local binding = cjson.decode(fields[i + 1])
  if binding.expiresAt > now then
    current[fields[i]] = binding
  end
end

local function out_of_order(binding)
  return binding.callId == call_id and cseq <= binding.cseq
end

if op == 'remove-all' then
  for key, binding in pairs(current) do
    if out_of_order(binding) then return {0, key} end
  end
  redis.call('DEL', KEYS[1])
  return {1}
end

local before = 0
for _ in pairs(current) do before = before + 1 end

for i = 6, #ARGV, 5 do
  local existing = current[ARGV[i]]
  if existing and out_of_order(existing) then return {0, ARGV[i]} end
end
for i = 6, #ARGV, 5 do
  local expires = tonumber(ARGV[i + 2])
  if expires == 0 then
    current[ARGV[i]] = nil
  else
    current[ARGV[i]] = {
      uriKey = ARGV[i], contact = ARGV[i + 1], expiresAt = now + expires * 1000,
      callId = call_id, cseq = cseq, q = tonumber(ARGV[i + 3]), data = ARGV[i + 4],
    }
  end
end

local count = 0
for _ in pairs(current) do count = count + 1 end
if max_bindings > 0 and count > max_bindings and count > before then return {2, count} end

redis.call('DEL', KEYS[1])
local result = {1}
local last = 0
for key, binding in pairs(current) do
  local json = cjson.encode(binding)
  redis.call('HSET', KEYS[1], key, json)
  result[#result + 1] = json
  if binding.expiresAt > last then last = binding.expiresAt end
end
if last > 0 then redis.call('PEXPIREAT', KEYS[1], last) end
return result
