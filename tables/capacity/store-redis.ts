// Bucket states in Redis, one budget per table for every table-service replica.
// Each take() and charge() is one Lua script, so the refill, the check and the
// withdrawal of all the buckets a request draws on (table and indexes) happen as
// one step against every other replica's. Replicas pass their own clock; a bucket's
// refill time only moves forward, so a replica whose clock is behind refills nothing
// rather than taking back time (the error is the replicas' clock skew times the rate).
// Per-minute consumption is kept beside each bucket for an hour (auto scaling reads it).
import type { Redis } from 'ioredis';
import { idleMs, minuteOf, type BucketStore, type Charge, type Draw } from './buckets.ts';

// KEYS: bucket hashes. ARGV[1] now (ms), ARGV[2] epoch minute, then per key:
// rate, burst, units, mode ('r' reserve, 'p' positive), idle ms.
// Returns the 1-based index of the first bucket that cannot pay, or 0.
const TAKE = `
local now = tonumber(ARGV[1])
local states = {}
for i = 1, #KEYS do
  local b = 2 + (i - 1) * 5
  local rate, burst, units = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local s = redis.call('HMGET', KEYS[i], 't', 'at')
  local t, at = tonumber(s[1]), tonumber(s[2])
  if t == nil then
    t, at = burst, now
  elseif now > at then
    t, at = math.min(burst, t + rate * (now - at) / 1000), now
  else
    t = math.min(burst, t)
  end
  if ARGV[b + 4] == 'p' then
    if t <= 0 then return i end
  elseif t < math.min(units, burst) then
    return i
  end
  states[i] = { t, at }
end
for i = 1, #KEYS do
  local b = 2 + (i - 1) * 5
  local units = 0
  if ARGV[b + 4] == 'r' then units = tonumber(ARGV[b + 3]) end
  redis.call('HSET', KEYS[i], 't', states[i][1] - units, 'at', states[i][2])
  redis.call('PEXPIRE', KEYS[i], ARGV[b + 5])
  if units > 0 then
    local m = KEYS[i] .. ':m:' .. ARGV[2]
    redis.call('INCRBYFLOAT', m, units)
    redis.call('EXPIRE', m, 3660)
  end
end
return 0
`;

// KEYS: bucket hashes. ARGV[1] now, ARGV[2] epoch minute, then per key: rate,
// burst, units (negative gives back), idle ms. The debt is floored at -burst.
const CHARGE = `
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local b = 2 + (i - 1) * 4
  local rate, burst, units = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local s = redis.call('HMGET', KEYS[i], 't', 'at')
  local t, at = tonumber(s[1]), tonumber(s[2])
  if t == nil then
    t, at = burst, now
  elseif now > at then
    t, at = math.min(burst, t + rate * (now - at) / 1000), now
  end
  redis.call('HSET', KEYS[i], 't', math.max(-burst, t - units), 'at', at)
  redis.call('PEXPIRE', KEYS[i], ARGV[b + 4])
  local m = KEYS[i] .. ':m:' .. ARGV[2]
  redis.call('INCRBYFLOAT', m, units)
  redis.call('EXPIRE', m, 3660)
end
return 0
`;

interface CapacityCommands {
  selfless_capacityTake(n: number, ...args: (string | number)[]): Promise<number>;
  selfless_capacityCharge(n: number, ...args: (string | number)[]): Promise<number>;
}

export class RedisBucketStore implements BucketStore {
  private readonly redis: Redis & CapacityCommands;

  constructor(
    redis: Redis,
    private readonly prefix = '{selfless}:capacity:',
  ) {
    this.redis = redis as Redis & CapacityCommands;
    if (!('selfless_capacityTake' in redis)) {
      redis.defineCommand('selfless_capacityTake', { lua: TAKE });
      redis.defineCommand('selfless_capacityCharge', { lua: CHARGE });
    }
  }

  async take(draws: Draw[], now: number): Promise<number> {
    const keys = draws.map((d) => this.prefix + d.spec.key);
    const args = draws.flatMap((d) => [
      d.spec.rate,
      d.spec.burst,
      d.units,
      d.mode === 'reserve' ? 'r' : 'p',
      idleMs(d.spec),
    ]);
    const failed = await this.redis.selfless_capacityTake(
      keys.length,
      ...keys,
      now,
      minuteOf(now),
      ...args,
    );
    return Number(failed) - 1;
  }

  async charge(charges: Charge[], now: number): Promise<void> {
    if (!charges.length) return;
    const keys = charges.map((c) => this.prefix + c.spec.key);
    const args = charges.flatMap((c) => [c.spec.rate, c.spec.burst, c.units, idleMs(c.spec)]);
    await this.redis.selfless_capacityCharge(keys.length, ...keys, now, minuteOf(now), ...args);
  }

  async consumed(key: string, now: number, minutes: number): Promise<Map<number, number>> {
    const last = minuteOf(now);
    const list = Array.from({ length: minutes }, (_, i) => last - minutes + 1 + i);
    const values = await this.redis.mget(list.map((m) => `${this.prefix}${key}:m:${m}`));
    return new Map(list.map((m, i) => [m, Number(values[i] ?? 0)]));
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
