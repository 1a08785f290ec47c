-- Drop the oldest ARGV[1] records, stored by the flusher holding the lock with token ARGV[2] (empty: no lock
-- check), count them in `acked`, and renew the lock for ARGV[3] seconds. 0 when the lock is no longer held by
-- that token: a flusher that outlived its lock trims nothing (another one may have trimmed the same records).
-- KEYS: buffer, acked, lock.
if ARGV[2] ~= '' then
  if redis.call('GET', KEYS[3]) ~= ARGV[2] then return 0 end
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
redis.call('LTRIM', KEYS[1], ARGV[1], -1)
redis.call('INCRBY', KEYS[2], ARGV[1])
return 1
