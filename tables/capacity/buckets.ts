// Token buckets as DynamoDB keeps them for provisioned capacity: a bucket fills at
// the provisioned rate and holds at most `burst` units (300 s of the rate: the burst
// credit DynamoDB retains from unused capacity). A request is admitted while its
// estimated units are in the bucket; what it really consumed is settled after it ran,
// which may take the bucket below zero (the debt is paid back by the refill).
// One store of bucket states per cluster: Redis when configured (every replica
// draws on the same budget), else this process's own (store-memory.ts).

export interface BucketSpec {
  /** Names the budget: table id, index ('' for the table) and kind. */
  key: string;
  /** Units per second. */
  rate: number;
  /** Most units the bucket holds. */
  burst: number;
}

/** One bucket a request draws on: `reserve` takes `units` if they are there; `positive` only needs the bucket out of debt. */
export interface Draw {
  spec: BucketSpec;
  units: number;
  mode: 'reserve' | 'positive';
}

export interface Charge {
  spec: BucketSpec;
  /** Units to take (negative: give back an over-estimate). */
  units: number;
}

export interface BucketStore {
  /**
   * Refills every bucket to `now` (epoch ms) and, atomically, either takes every
   * draw or none: answers the index of the first bucket that cannot pay, or -1.
   */
  take(draws: Draw[], now: number): Promise<number>;
  /** Takes (or gives back) units without a check: a request's settlement. */
  charge(charges: Charge[], now: number): Promise<void>;
  /** Units consumed per minute (epoch minute -> units) of a bucket key, the last `minutes` minutes. */
  consumed(key: string, now: number, minutes: number): Promise<Map<number, number>>;
  close(): Promise<void>;
}

export interface BucketState {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

/**
 * The bucket brought to `now`. A bucket never seen, or expired (untouched long
 * enough to be full again), starts full: a new table has its burst at once.
 */
export function refill(state: BucketState | undefined, spec: BucketSpec, now: number): BucketState {
  if (!state) return { tokens: spec.burst, at: now };
  if (now <= state.at) return { tokens: Math.min(spec.burst, state.tokens), at: state.at };
  const tokens = Math.min(spec.burst, state.tokens + (spec.rate * (now - state.at)) / 1000);
  return { tokens, at: now };
}

/** Whether a draw can be paid from `tokens`; a request larger than the whole burst passes on a full bucket. */
export function canPay(tokens: number, draw: Draw): boolean {
  if (draw.mode === 'positive') return tokens > 0;
  return tokens >= Math.min(draw.units, draw.spec.burst);
}

/** Debt is bounded so one huge request cannot lock a table for longer than its burst window. */
export function debtFloor(spec: BucketSpec): number {
  return -spec.burst;
}

/** How long a bucket must sit untouched to be full again: after that its state may be forgotten. */
export function idleMs(spec: BucketSpec): number {
  return Math.ceil((spec.burst * 2 * 1000) / spec.rate) + 60_000;
}

export const minuteOf = (ms: number) => Math.floor(ms / 60_000);
