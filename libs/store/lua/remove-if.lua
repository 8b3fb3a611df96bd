-- Deletes KEYS[1] only if its value is ARGV[1] (a connection owned by this edge).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
