-- completeEvent: the function ran and succeeded; the event is gone, and the
-- on-success destination (if any) receives its record in the same step.
--
-- KEYS[1] leased zset
-- KEYS[2] ages zset
-- KEYS[3] event hash
-- KEYS[4] ready list                      (for a function destination)
-- KEYS[5] destination queue list          (for a queue destination)
-- KEYS[6] event hash of the new event     (for a function destination)
-- ARGV[1] id
-- ARGV[2] lease token
-- ARGV[3] now (epoch ms)
-- ARGV[4] destination kind: none | queue | function
-- ARGV[5] destination record (JSON)
-- ARGV[6] id of the new event             (function destination)
-- ARGV[7] function of the new event       (function destination)
-- ARGV[8] trace header of the new event   (function destination; '' for none)
--
-- Returns  1 completed
--         -1 lease lost: the token is not ours (the lease expired and the event
--            was claimed again, or it is already finished); nothing changed
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then
  return -1
end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[4] == 'queue' then
  redis.call('RPUSH', KEYS[5], ARGV[5])
elseif ARGV[4] == 'function' then
  redis.call('HSET', KEYS[6], 'state', 'ready', 'enqueuedAt', ARGV[3], 'dueAt', ARGV[3],
    'invokes', 0, 'functionErrors', 0, 'systemRetries', 0,
    'fn', ARGV[7], 'requestId', ARGV[6], 'payload', ARGV[5])
  if ARGV[8] ~= '' then
    redis.call('HSET', KEYS[6], 'traceId', ARGV[8])
  end
  redis.call('LPUSH', KEYS[4], ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[6])
end
return 1
