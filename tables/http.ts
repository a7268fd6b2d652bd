// The HTTP layer of the table service: DynamoDB JSON 1.0. It only reads the body,
// checks the signature when keys are configured, routes on X-Amz-Target and turns
// results and errors into DynamoDB's wire shape with an X-Amz-Crc32 header. Bad
// input never reaches the 500 path: that is kept for storage faults, and for a
// compressed body that does not decompress, which DynamoDB answers with 500 too.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { crc32, deflate, gunzip, gzip, inflate } from 'node:zlib';
import type { Registry } from 'prom-client';
import { makeLogger, type Logger } from '../lib/log.ts';
import { verifySigV4 } from '../lib/sigv4.ts';
import { actions } from './actions/index.ts';
import type { Action, ActionContext } from './actions/context.ts';
import { DynamoError, errorPrefix, internal } from './errors.ts';
import { makeTablesMetrics } from './metrics.ts';
import { makeIndexBuilder, type IndexBuilder } from './storage/backfill.ts';
import { CapacityGuard, observing } from './capacity/guard.ts';
import { MemoryBucketStore } from './capacity/store-memory.ts';
import type { BucketStore } from './capacity/buckets.ts';
import type { ReadCache } from './cache/read-cache.ts';
import type { StorageEngine } from './storage/engine.ts';
import type { StreamsContext } from './streams/context.ts';
import { streamsActions } from './streams/index.ts';
import { makeStreamsMetrics } from './streams/metrics.ts';
import { makeExpirer, type Expirer, type ExpirerOptions } from './ttl/expirer.ts';

export const targetPrefix = 'DynamoDB_20120810.';
/** The DynamoDB Streams API is served on the same endpoint. */
export const streamsTargetPrefix = 'DynamoDBStreams_20120810.';
const maxBodyBytes = 20 * 1024 * 1024;
/** DynamoDB compresses a response only from this size on, even when asked to. */
export const compressionThreshold = 4096;

type Coding = 'gzip' | 'deflate';
const compress = { gzip: promisify(gzip), deflate: promisify(deflate) };
const decompress = { gzip: promisify(gunzip), deflate: promisify(inflate) };

export interface TablesHandlerOptions {
  engine: StorageEngine;
  registry?: Registry;
  /** SigV4 verification: secret of each access key id. Absent: no authentication. */
  auth?: { credentials: Record<string, string> };
  region?: string;
  accountId?: string;
  log?: Logger;
  /** The background work of index changes; default one over `engine` (storage/backfill.ts). */
  indexBuilder?: IndexBuilder;
  /** The clock of stream iterators and TTL expiry; tests move it. */
  streamsClock?: () => number;
  /**
   * How far behind the clock stream readers stay (streams/context.ts); default 0
   * on sqlite (one process writes in order) and 1000 ms on cql.
   */
  streamVisibilityMs?: number;
  /** The TTL expirer's settings (ttl/expirer.ts), or false for none. */
  ttl?: Partial<ExpirerOptions> | false;
  /** Where capacity budgets are kept: Redis for one budget across replicas; default this process. */
  capacityStore?: BucketStore;
  /** Epoch ms for capacity and UpdateTable; tests inject it. */
  clock?: () => number;
  /** The DAX-style read cache (tables/cache/); absent: none. */
  cache?: ReadCache;
}

export type ActionResult =
  { ok: true; out: Record<string, unknown> } | { ok: false; error: DynamoError };

export type TablesHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  /** The TTL expirer this handler runs, if any. */
  expirer?: Expirer;
  /**
   * Runs a DynamoDB action (by its X-Amz-Target name) in process, as an HTTP request
   * would after its body is parsed: capacity, cache and metrics included (tables/dax/).
   */
  invoke: (name: string, request: Record<string, unknown>) => Promise<ActionResult>;
};

/** Whether a request is a DynamoDB API call (for mounting on a shared port). */
export function isTablesRequest(req: IncomingMessage): boolean {
  const target = req.headers['x-amz-target'];
  return (
    typeof target === 'string' &&
    (target.startsWith(targetPrefix) || target.startsWith(streamsTargetPrefix))
  );
}

/**
 * The response coding an Accept-Encoding header asks for, as DynamoDB picks it:
 * gzip or deflate by the highest quality (a q outside 0..1 is clamped, a q that is
 * not a number is ignored, the first q of an entry counts, a coding named twice
 * takes its best q), `*` stands for either, an explicit name beats `*` at equal
 * quality and the earlier entry beats the later; identity and other codings are
 * ignored.
 */
export function responseCoding(header: string | undefined): Coding | undefined {
  if (!header) return undefined;
  const explicit = new Map<Coding, number>();
  let star: number | undefined;
  for (const entry of header.split(',')) {
    const [name = '', ...params] = entry.split(';');
    const coding = name.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*(-?\d+(?:\.\d*)?)\s*$/i.exec(p);
      if (m) {
        q = Math.min(1, Math.max(0, Number(m[1])));
        break;
      }
    }
    if (coding === '*') star = Math.max(star ?? 0, q);
    else if (coding === 'gzip' || coding === 'deflate') {
      explicit.set(coding, Math.max(explicit.get(coding) ?? 0, q));
    }
  }
  let best: { coding: Coding; q: number; explicit: boolean } | undefined;
  const consider = (coding: Coding, q: number, isExplicit: boolean) => {
    if (q <= 0) return;
    if (!best || q > best.q || (q === best.q && isExplicit && !best.explicit)) {
      best = { coding, q, explicit: isExplicit };
    }
  };
  for (const [coding, q] of explicit) consider(coding, q, true);
  for (const coding of ['gzip', 'deflate'] as const) {
    if (!explicit.has(coding) && star !== undefined) consider(coding, star, false);
  }
  return best?.coding;
}

async function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  coding?: Coding,
): Promise<void> {
  // A string body (not a Buffer) lets node:http put headers and body into one
  // write instead of a writev of two: measurably cheaper per request.
  const payload = JSON.stringify(body);
  const length = Buffer.byteLength(payload);
  if (coding && length >= compressionThreshold) {
    const packed = await compress[coding](payload);
    // The CRC covers the bytes on the wire, the compressed ones, as DynamoDB's.
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.0',
      'Content-Encoding': coding,
      'Content-Length': packed.length,
      'X-Amz-Crc32': String(crc32(packed)),
      'x-amzn-RequestId': randomUUID(),
    });
    res.end(packed);
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': length,
    'X-Amz-Crc32': String(crc32(payload)),
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(payload);
}

/**
 * A request body as sent with Content-Encoding gzip or deflate, decompressed;
 * undefined when it is larger than the limit once decompressed. Throws when the
 * coding is unknown or the bytes do not decompress.
 */
async function decodeBody(body: Buffer, encoding: string | undefined): Promise<Buffer | undefined> {
  const coding = (encoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return body;
  if (coding !== 'gzip' && coding !== 'deflate') {
    throw new Error(`unsupported Content-Encoding: ${coding}`);
  }
  try {
    return await decompress[coding](body, { maxOutputLength: maxBodyBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw err;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBodyBytes) chunks.push(c);
    });
    req.on('end', () => resolve(size > maxBodyBytes ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function makeTablesHandler(opts: TablesHandlerOptions): TablesHandler {
  const log = opts.log ?? makeLogger('tables');
  const metrics = opts.registry ? makeTablesMetrics(opts.registry) : undefined;
  const indexes = opts.indexBuilder ?? makeIndexBuilder({ engine: opts.engine, log });
  const capacity = new CapacityGuard({
    store: opts.capacityStore ?? new MemoryBucketStore(),
    metrics: metrics?.capacityMetrics,
    clock: opts.clock,
    log,
  });
  const ctx: ActionContext = {
    engine: opts.engine,
    region: opts.region ?? 'us-east-1',
    accountId: opts.accountId ?? '000000000000',
    observer: metrics,
    indexes,
    now: opts.clock,
  };
  const streamsMetrics = opts.registry ? makeStreamsMetrics(opts.registry) : undefined;
  const streamsCtx: StreamsContext = {
    ...ctx,
    now: opts.streamsClock ?? Date.now,
    visibilityMs: opts.streamVisibilityMs ?? (opts.engine.kind === 'cql' ? 1000 : 0),
    metrics: streamsMetrics,
  };
  const expirer =
    opts.ttl === false
      ? undefined
      : makeExpirer({
          engine: opts.engine,
          log,
          now: streamsCtx.now,
          metrics: streamsMetrics,
          ...opts.ttl,
        });
  expirer?.start();
  // Index work a stopped process left behind goes on here.
  indexes.resume().catch((err: unknown) => {
    log.error('resuming index work failed', { error: String(err) });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const t0 = process.hrtime.bigint();
    const target = String(req.headers['x-amz-target'] ?? '');
    const streamsName = target.startsWith(streamsTargetPrefix)
      ? target.slice(streamsTargetPrefix.length)
      : '';
    const name = target.startsWith(targetPrefix) ? target.slice(targetPrefix.length) : '';
    const streamsAction = Object.hasOwn(streamsActions, streamsName)
      ? streamsActions[streamsName]
      : undefined;
    const tableAction = Object.hasOwn(actions, name) ? actions[name] : undefined;
    const action = streamsAction
      ? (_: ActionContext, r: Record<string, unknown>) => streamsAction(streamsCtx, r)
      : tableAction;
    const label = streamsAction ? `Streams.${streamsName}` : tableAction ? name : 'unknown';
    const coding = responseCoding(req.headers['accept-encoding']);
    const finish = async (status: number, body: unknown, outcome: string) => {
      await send(res, status, body, coding);
      metrics?.request(label, outcome, Number(process.hrtime.bigint() - t0) / 1e9);
    };
    const failWith = (err: DynamoError) => finish(err.status, err.body(), err.type);

    if (req.method === 'GET' && !target) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`healthy: dynamodb.${ctx.region}.amazonaws.com`);
      return;
    }
    const tooLarge = () =>
      failWith(new DynamoError('RequestEntityTooLarge', 'Request entity too large', 413));
    const raw = await readBody(req);
    if (!raw) return tooLarge();
    if (opts.auth) {
      const v = verifySigV4(
        // The signature covers the body as sent, compressed or not.
        { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body: raw },
        { credentials: opts.auth.credentials, service: 'dynamodb' },
      );
      if (!v.ok) return failWith(new DynamoError(v.type, v.message, v.status));
    }
    if (!action) {
      return failWith(
        new DynamoError('UnknownOperationException', `Unknown operation: ${target || '(none)'}`),
      );
    }
    let body: Buffer | undefined;
    try {
      body = await decodeBody(raw, req.headers['content-encoding']);
    } catch (err) {
      log.warn('request body does not decompress', { action: label, err });
      return failWith(internal());
    }
    if (!body) return tooLarge();
    let request: unknown;
    try {
      request = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      return failWith(
        new DynamoError('SerializationException', 'The request body is not valid JSON'),
      );
    }
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      return failWith(
        new DynamoError('SerializationException', 'Start of list found where not expected'),
      );
    }
    const result = await run(action, label, request as Record<string, unknown>);
    if (!result.ok) return failWith(result.error);
    await finish(200, result.out, 'ok');
  };

  /** One action with capacity, the read cache and storage faults as 500, for any front end. */
  const run = async (
    action: Action,
    label: string,
    request: Record<string, unknown>,
  ): Promise<ActionResult> => {
    let out: Record<string, unknown> | undefined;
    let failure: DynamoError | undefined;
    const usage = capacity.request();
    const writes = opts.cache?.request();
    try {
      out = await action(
        { ...ctx, capacity: usage, observer: observing(ctx.observer, usage), cache: writes },
        request,
      );
    } catch (err) {
      if (err instanceof DynamoError) failure = err;
      else {
        metrics?.storageError(label);
        log.error('storage error', { action: label, err });
        failure = internal();
      }
    }
    usage.finish();
    // Written through (and the other replicas told) before the writer hears back.
    await writes?.finish();
    return failure || !out ? { ok: false, error: failure ?? internal() } : { ok: true, out };
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      log.error('request failed', { err });
      if (!res.headersSent) {
        void send(res, 500, {
          __type: errorPrefix + 'InternalServerError',
          message: 'Internal server error',
        });
      } else res.destroy();
    });
  };
  const invoke: TablesHandler['invoke'] = async (name, request) => {
    const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
    const t0 = process.hrtime.bigint();
    const result = action
      ? await run(action, name, request)
      : {
          ok: false as const,
          error: new DynamoError('UnknownOperationException', `Unknown operation: ${name}`),
        };
    metrics?.request(
      action ? name : 'unknown',
      result.ok ? 'ok' : result.error.type,
      Number(process.hrtime.bigint() - t0) / 1e9,
    );
    return result;
  };
  return Object.assign(listener, { expirer, invoke });
}
