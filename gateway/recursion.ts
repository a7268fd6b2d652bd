// Recursive loop detection as Lambda does it: every invocation carries an X-Ray
// trace header (the caller's X-Amzn-Trace-Id, else one made here) whose `Lineage`
// field counts, per function, the invocations of one chain. The function gets the
// header with its own count raised by one (Lambda-Runtime-Trace-Id, which the
// bootstraps put in _X_AMZN_TRACE_ID), the AWS SDK inside it sends the header on
// with its calls, and so the count follows the chain through Invoke, the async
// queue and destinations. Past RECURSION_LIMIT a function whose configuration is
// Terminate (the default) is not invoked.
//
// Lambda does not document Lineage's encoding; ours is `<8 hex of the function ARN's
// sha256>:<count>`, one entry per function, joined by `|`, as X-Ray headers seen
// from Lambda carry it (Lineage=a87bd80c:1|68fd508a:5).
import { createHash, randomFillSync } from 'node:crypto';
import { keyOf, type FunctionDefinition, type RecursiveLoop } from '../lib/function.ts';

export const RECURSION_LIMIT = 16;

const ROOT = /^1-[0-9a-f]{8}-[0-9a-f]{24}$/;
const ENTRY = /^([0-9a-f]{8}):(\d{1,9})$/;

// Every call without a trace header needs 20 random bytes: drawn from a pool that
// one system call refills, as randomUUID does, instead of two calls per header.
const POOL_BYTES = 20 * 256;
const pool = Buffer.alloc(POOL_BYTES);
let poolAt = POOL_BYTES;

function randomHex(bytes: number): string {
  if (poolAt + bytes > POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const hex = pool.toString('hex', poolAt, poolAt + bytes);
  poolAt += bytes;
  return hex;
}

/** A new X-Ray trace header: Root=1-<epoch seconds, hex>-<96 random bits>;Parent;Sampled=0. */
export function newTraceHeader(now: number): string {
  const time = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${time}-${randomHex(12)};Parent=${randomHex(8)};Sampled=0`;
}

function fields(header: string): [string, string][] {
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const i = part.indexOf('=');
      return i < 0 ? [part, ''] : [part.slice(0, i), part.slice(i + 1)];
    });
}

/** The caller's header if it names a trace (a valid Root), else a new one. */
export function traceHeaderOf(header: string | undefined, now: number): string {
  const root = header && fields(header).find(([k]) => k === 'Root')?.[1];
  return root && ROOT.test(root) ? header : newTraceHeader(now);
}

/** The Lineage counts of a header, by function tag; malformed entries are ignored. */
export function lineage(header: string): Map<string, number> {
  const counts = new Map<string, number>();
  const value = fields(header).find(([k]) => k === 'Lineage')?.[1] ?? '';
  for (const entry of value.split('|')) {
    const m = ENTRY.exec(entry);
    if (m) counts.set(m[1]!, Number(m[2]));
  }
  return counts;
}

// A hash per call is a measurable part of an invocation's cost; a process knows
// few functions, and a deleted one's entry is 8 bytes of hex.
const tags = new Map<string, string>();

/** The tag a function's count goes by: its versions and aliases share it. */
export function functionTag(unqualifiedArn: string): string {
  let tag = tags.get(unqualifiedArn);
  if (tag === undefined) {
    tag = createHash('sha256').update(unqualifiedArn).digest('hex').slice(0, 8);
    tags.set(unqualifiedArn, tag);
  }
  return tag;
}

/**
 * The header an invocation of the function runs with: the caller's (made valid),
 * the function's Lineage count raised by one. `count` is that invocation's place in
 * the chain: 1 for the first.
 */
export function nextHop(
  header: string | undefined,
  unqualifiedArn: string,
  now: number,
): { header: string; count: number } {
  // Most calls come without a trace: the new header has no Lineage to parse.
  if (header === undefined || header === '')
    return { header: `${newTraceHeader(now)};Lineage=${functionTag(unqualifiedArn)}:1`, count: 1 };
  const base = traceHeaderOf(header, now);
  const counts = lineage(base);
  const tag = functionTag(unqualifiedArn);
  const count = (counts.get(tag) ?? 0) + 1;
  counts.set(tag, count);
  const value = [...counts].map(([t, n]) => `${t}:${n}`).join('|');
  const rest = fields(base)
    .filter(([k]) => k !== 'Lineage')
    .map(([k, v]) => `${k}=${v}`);
  return { header: [...rest, `Lineage=${value}`].join(';'), count };
}

/** Where a function's setting is kept: the event store (Redis in a cluster), or this process. */
export interface RecursionConfigStore {
  getRecursiveLoop(functionName: string): Promise<string | undefined>;
  putRecursiveLoop(functionName: string, value: string): Promise<void>;
}

export class InProcessRecursionConfigStore implements RecursionConfigStore {
  private readonly values = new Map<string, string>();

  getRecursiveLoop(fn: string): Promise<string | undefined> {
    return Promise.resolve(this.values.get(fn));
  }

  putRecursiveLoop(fn: string, value: string): Promise<void> {
    this.values.set(fn, value);
    return Promise.resolve();
  }
}

/**
 * A function's setting: PutFunctionRecursionConfig's if it was called, else the
 * Function spec's `recursiveLoop`, else Terminate (as event invoke configs: the API
 * over the spec). Read only when a chain passes the limit, so each replica caches
 * the stored one briefly.
 */
export class RecursionConfigs {
  private readonly cache = new Map<string, { at: number; value: RecursiveLoop | undefined }>();

  constructor(
    private readonly store: RecursionConfigStore,
    private readonly cacheMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async effective(fn: FunctionDefinition): Promise<RecursiveLoop> {
    return (await this.stored(keyOf(fn))) ?? fn.spec.recursiveLoop ?? 'Terminate';
  }

  private async stored(key: string): Promise<RecursiveLoop | undefined> {
    const hit = this.cache.get(key);
    if (hit && this.clock() - hit.at < this.cacheMs) return hit.value;
    const raw = await this.store.getRecursiveLoop(key);
    const value = raw === 'Allow' || raw === 'Terminate' ? raw : undefined;
    if (this.cacheMs > 0) this.cache.set(key, { at: this.clock(), value });
    return value;
  }

  async put(fn: string, value: RecursiveLoop): Promise<void> {
    await this.store.putRecursiveLoop(fn, value);
    this.cache.delete(fn);
  }
}
