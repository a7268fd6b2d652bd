-- fireSchedule: one tick of a schedule becomes one async event. Every gateway
-- replica may try; the compare-and-set on the schedule's next tick lets exactly one
-- of them through, and the next tick is computed from "now", so a schedule that
-- missed many ticks (all replicas down) fires once, not once per missed tick.
--
-- KEYS[1] schedule key      (string: epoch ms of the next tick)
-- KEYS[2] ready list
-- KEYS[3] ages zset
-- KEYS[4] event hash of the new event
-- ARGV[1] the next tick the caller saw (epoch ms)
-- ARGV[2] the tick after this firing (epoch ms)
-- ARGV[3] id of the new event
-- ARGV[4] now (epoch ms)
-- ARGV[5] function
-- ARGV[6] payload
--
-- Returns  1 fired
--          0 another replica fired this tick already; nothing changed
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[4], 'state', 'ready', 'enqueuedAt', ARGV[4], 'dueAt', ARGV[4],
  'invokes', 0, 'functionErrors', 0, 'systemRetries', 0,
  'fn', ARGV[5], 'requestId', ARGV[3], 'payload', ARGV[6])
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
return 1
