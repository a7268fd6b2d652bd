// Lambda's concurrency quotas counted across every gateway replica, in Redis. Each
// admitted invocation holds a lease: a member of the function's sorted set (and of
// the unreserved pool's, when it draws on the pool) whose score is its expiry. The
// holder extends its leases while they run; a replica that dies stops extending,
// and the next acquire anywhere drops its expired leases, so its slots come back.
// If Redis cannot be reached, admission falls back to this replica's own count, so
// synchronous calls keep working (the limits then hold per replica only).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../lib/log.ts';
import {
  InProcessLimiter,
  type AccountQuotas,
  type Admission,
  type ConcurrencyLimiter,
} from './limiter.ts';

// acquireConcurrency
// KEYS[1] the function's lease zset   KEYS[2] the unreserved pool's lease zset
// ARGV[1] now (ms)  ARGV[2] lease expiry (ms)  ARGV[3] lease id
// ARGV[4] the function's reservation, or -1 when it draws on the pool
// ARGV[5] the pool's size (account limit minus all reservations)
// Returns 1 admitted, -1 reservation full, -2 pool full.
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local reserved = tonumber(ARGV[4])
if reserved >= 0 then
  if redis.call('ZCARD', KEYS[1]) >= reserved then return -1 end
else
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return -2 end
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1
`;

export interface RedisLimiterOptions {
  prefix?: string;
  /** A lease not extended for this long is given back (default 30 s). */
  leaseMs?: number;
  /** Epoch ms that leases expire by; replicas compare each other's, so outside tests the wall clock. */
  clock?: () => number;
  log: Logger;
}

interface Held {
  fnKey: string;
  pool: boolean;
}

export class RedisLimiter implements ConcurrencyLimiter {
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly now: () => number;
  private readonly held = new Map<string, Held>();
  private readonly local: InProcessLimiter;
  private readonly perFunction = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly quotas: AccountQuotas,
    private readonly reservedTotal: () => number,
    private readonly opts: RedisLimiterOptions,
  ) {
    this.prefix = opts.prefix ?? '{selfless}';
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.now = opts.clock ?? Date.now;
    this.local = new InProcessLimiter(quotas, reservedTotal);
    if (!('selfless_acquireConcurrency' in redis)) {
      redis.defineCommand('selfless_acquireConcurrency', { numberOfKeys: 2, lua: ACQUIRE });
    }
    this.timer = setInterval(() => void this.extend(), this.leaseMs / 3);
    this.timer.unref();
  }

  private async extend(): Promise<void> {
    if (this.held.size === 0) return;
    const expiry = this.now() + this.leaseMs;
    const p = this.redis.pipeline();
    for (const [id, h] of this.held) {
      p.zadd(h.fnKey, 'XX', expiry, id);
      if (h.pool) p.zadd(`${this.prefix}:concurrency:pool`, 'XX', expiry, id);
    }
    await p.exec().catch(() => undefined);
  }

  async acquire(functionName: string, reserved: number | undefined): Promise<Admission> {
    const id = randomUUID();
    const fnKey = `${this.prefix}:concurrency:fn:${functionName}`;
    const poolKey = `${this.prefix}:concurrency:pool`;
    const now = this.now();
    let code: number;
    try {
      code = (await (
        this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<number>>
      ).selfless_acquireConcurrency!(
        fnKey,
        poolKey,
        now,
        now + this.leaseMs,
        id,
        reserved ?? -1,
        this.quotas.accountLimit - this.reservedTotal(),
      )) as number;
    } catch (err) {
      this.opts.log.warn('cluster concurrency unavailable: counting on this replica only', {
        err: (err as Error).message,
      });
      return this.local.acquire(functionName, reserved);
    }
    if (code === -1)
      return { ok: false, reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
    if (code === -2) return { ok: false, reason: 'ConcurrentInvocationLimitExceeded' };
    const pool = reserved === undefined;
    this.held.set(id, { fnKey, pool });
    this.perFunction.set(functionName, (this.perFunction.get(functionName) ?? 0) + 1);
    let released = false;
    return {
      ok: true,
      lease: {
        release: () => {
          if (released) return;
          released = true;
          this.held.delete(id);
          const n = (this.perFunction.get(functionName) ?? 1) - 1;
          if (n === 0) this.perFunction.delete(functionName);
          else this.perFunction.set(functionName, n);
          const p = this.redis.pipeline().zrem(fnKey, id);
          if (pool) p.zrem(poolKey, id);
          // If Redis is unreachable now, the lease simply expires.
          void p.exec().catch(() => undefined);
        },
      },
    };
  }

  /** In-flight executions admitted by this replica (the cluster-wide count is in Redis). */
  inFlight(functionName?: string): number {
    const local = this.local.inFlight(functionName);
    if (functionName !== undefined) return (this.perFunction.get(functionName) ?? 0) + local;
    return this.held.size + local;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
