// One shard of one mapping, read in order and handed to the function in batches,
// as Lambda does for DynamoDB streams. Only the holder of the shard's lease reads
// it; the checkpoint moves (under that lease) only after a batch is done with:
// succeeded, dropped by the filters, or discarded to onFailure. A failing batch
// blocks the shard: retried (with backoff), bisected when asked, until it succeeds,
// runs out of retries or ages out. A restart resumes after the checkpoint, so a
// record is delivered at least once and none is skipped.
//
// With a tumbling window (TumblingWindowInSeconds) a batch holds records of one
// window only (by ApproximateCreationDateTime, epoch-aligned); the function gets the
// state it returned last in the window ({} at its start) and must return one; the
// state moves with the checkpoint (one commit), so a restart resumes with the state
// of the position it resumes after. When the window is over (a record of a later
// window is read, or the clock is past its end and a read found nothing more, or the
// shard ends) the function gets a final invocation without records; only once it
// succeeds is the state dropped and the next window begun.
import { passes, parsePattern, type Pattern } from '../../lib/filter-pattern.ts';
import type { Logger } from '../../lib/log.ts';
import type { InvokeOutcome } from '../invoker.ts';
import {
  batchItemFailure,
  failureRecord,
  lambdaRecord,
  windowEvent,
  windowState,
  type DiscardCondition,
  type LambdaStreamRecord,
} from './event.ts';
import type { Mapping } from './mapping.ts';
import type { EventSourceMetrics } from './metrics.ts';
import type { Checkpoint, MappingStore, OpenWindow } from './store.ts';
import { StreamsError, type StreamsApi } from './streams-client.ts';

export interface PollerOptions {
  /** Wait between reads of a shard that had nothing new (Lambda polls 4 times a second). */
  pollMs: number;
  leaseMs: number;
  /** First retry delay of a failed batch, doubled per retry up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_POLLER: PollerOptions = {
  pollMs: 250,
  leaseMs: 30_000,
  retryBaseMs: 1_000,
  retryMaxMs: 60_000,
};

/** Lambda's invocation payload limit: a batch is cut before it would exceed it. */
const PAYLOAD_LIMIT = 6 * 1024 * 1024 - 64 * 1024;

/** Lambda's limit of a window's state (per shard); a bigger one ends the window early. */
const STATE_LIMIT = 1024 * 1024;

/**
 * How long past a window's end its final invocation waits: a record of the window's
 * last moments may still be on its way into the stream (the stamps are whole seconds).
 */
const WINDOW_GRACE_MS = 1_000;

export interface PollerDeps {
  api: StreamsApi;
  store: MappingStore;
  /** The mapping as it is now (its settings may change while the poller runs). */
  mapping: () => Mapping;
  invoke: (m: Mapping, payload: string) => Promise<InvokeOutcome>;
  deliver: (m: Mapping, record: string) => Promise<void>;
  functionArn: (m: Mapping) => string;
  metrics: EventSourceMetrics;
  log: Logger;
  clock: () => number;
  token: string;
  options: PollerOptions;
}

interface Entry {
  rec: LambdaStreamRecord;
  seq: string;
  pass: boolean;
  size: number;
  createdMs: number;
}

export function makeShardPoller(deps: PollerDeps, streamArn: string, shardId: string) {
  const { api, store, log, metrics, token, options } = deps;
  let stopped = false;
  let wake: (() => void) | undefined;
  let holding = false;
  let iterator: string | undefined;
  let ended = false;
  let lastRead: string | undefined;
  let skipBefore: number | undefined;
  let queue: Entry[] = [];
  let lastResult: string | undefined;
  let finished = false;
  let filterKey = '';
  let patterns: Pattern[] = [];
  /**
   * The open tumbling window and the checkpoint's position, as last committed or
   * loaded. A new state replaces `win` (never changes it): the memory store keeps the
   * committed object itself.
   */
  let win: OpenWindow | undefined;
  let position: string | undefined;

  const m = () => deps.mapping();
  const labels = () => ({ mapping: m().uuid, function: m().functionKey });

  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });

  function filters(): Pattern[] {
    const key = JSON.stringify(m().filters);
    if (key !== filterKey) {
      filterKey = key;
      patterns = m().filters.map((f) => parsePattern(f));
    }
    return patterns;
  }

  class LeaseLost extends Error {}

  async function commit(cp: Checkpoint): Promise<void> {
    if (!(await store.commit(m().uuid, shardId, token, cp))) throw new LeaseLost();
    position = cp.after;
  }

  async function result(text: string): Promise<void> {
    if (text === lastResult) return;
    lastResult = text;
    await store.setLastResult(m().uuid, text);
  }

  async function start(): Promise<void> {
    const cp = await store.checkpoint(m().uuid, shardId);
    queue = [];
    ended = false;
    skipBefore = undefined;
    lastRead = cp?.after;
    position = cp?.after;
    win = cp?.window;
    if (cp?.done) {
      finished = true;
      return;
    }
    if (cp?.after) {
      iterator = await iteratorAfter(cp.after);
    } else if (m().startingPosition === 'TRIM_HORIZON') {
      iterator = await api.shardIterator(streamArn, shardId, 'TRIM_HORIZON');
    } else if (cp?.startAt !== undefined) {
      // A LATEST mapping that read nothing yet before it stopped: what was written
      // since it started is read from the shard's start, older records skipped.
      skipBefore = cp.startAt;
      iterator = await api.shardIterator(streamArn, shardId, 'TRIM_HORIZON');
    } else {
      // Where LATEST began is kept before anything is read, so a restart before the
      // first record skips nothing written meanwhile.
      await commit({ startAt: deps.clock() });
      iterator = await api.shardIterator(streamArn, shardId, 'LATEST');
    }
  }

  async function iteratorAfter(seq: string): Promise<string> {
    try {
      return await api.shardIterator(streamArn, shardId, 'AFTER_SEQUENCE_NUMBER', seq);
    } catch (err) {
      if (!(err instanceof StreamsError && err.type === 'TrimmedDataAccessException')) throw err;
      log.warn('checkpoint is past the stream retention; reading from its oldest record', {
        mapping: m().uuid,
        shard: shardId,
      });
      return api.shardIterator(streamArn, shardId, 'TRIM_HORIZON');
    }
  }

  /** One GetRecords into the queue; resolves to how many records it returned. */
  async function read(limit: number): Promise<number> {
    if (ended || iterator === undefined) return 0;
    let out;
    try {
      out = await api.records(iterator, limit);
    } catch (err) {
      if (err instanceof StreamsError && err.type === 'ExpiredIteratorException') {
        iterator = lastRead
          ? await iteratorAfter(lastRead)
          : await api.shardIterator(streamArn, shardId, 'TRIM_HORIZON');
        return 0;
      }
      throw err;
    }
    if (out.next === undefined) ended = true;
    else iterator = out.next;
    const pats = filters();
    for (const r of out.records) {
      const createdMs = r.dynamodb.ApproximateCreationDateTime * 1000;
      lastRead = r.dynamodb.SequenceNumber;
      // Second precision: a record of the second LATEST began in is kept (at least once).
      if (skipBefore !== undefined && createdMs < skipBefore - 1000) {
        queue.push({
          rec: lambdaRecord(r, streamArn),
          seq: lastRead,
          pass: false,
          size: 0,
          createdMs,
        });
        continue;
      }
      const rec = lambdaRecord(r, streamArn);
      const pass = passes(pats, rec);
      if (!pass) metrics.recordsFiltered.inc(labels());
      queue.push({ rec, seq: lastRead, pass, size: JSON.stringify(rec).length + 1, createdMs });
    }
    if (out.records.length > 0) metrics.recordsRead.inc(labels(), out.records.length);
    return out.records.length;
  }

  /** Reads until a batch is ready: batchSize passing records, the window over, or nothing more now. */
  async function gather(): Promise<void> {
    const windowMs = m().maximumBatchingWindowInSeconds * 1000;
    const began = deps.clock();
    for (;;) {
      const passing = queue.filter((e) => e.pass).length;
      if (passing >= m().batchSize || ended) return;
      const limit = Math.min(1000, Math.max(1, m().batchSize - passing));
      const got = await read(limit);
      if (got === limit) continue;
      if (queue.length > 0 && (windowMs === 0 || deps.clock() - began >= windowMs)) return;
      if (queue.length > 0 && !queue.some((e) => e.pass)) return;
      if (windowOver()) return;
      await sleep(options.pollMs);
      if (stopped) return;
    }
  }

  /** The head of `from` holding at most `records` passing records and `bytes` of them. */
  function head(from: Entry[], records: number, bytes: number): Entry[] {
    const out: Entry[] = [];
    let passing = 0;
    let size = 0;
    for (const e of from) {
      if (e.pass && (passing >= records || (passing > 0 && size + e.size > bytes))) break;
      out.push(e);
      if (e.pass) {
        passing++;
        size += e.size;
      }
    }
    return out;
  }

  /** Entries cut into batches of at most batchSize records and the payload limit. */
  function batches(entries: Entry[]): Entry[][] {
    const out: Entry[][] = [];
    for (let rest = entries; rest.length > 0;) {
      const b = head(rest, m().batchSize, PAYLOAD_LIMIT);
      out.push(b);
      rest = rest.slice(b.length);
    }
    return out;
  }

  /** A key's lane: records of one item always share one, so each item stays in order. */
  function lane(e: Entry, lanes: number): number {
    let h = 0;
    for (const c of JSON.stringify(e.rec.dynamodb.Keys)) h = (h * 31 + c.charCodeAt(0)) | 0;
    return Math.abs(h) % lanes;
  }

  const backoff = (n: number) =>
    Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** Math.max(0, n - 1));

  function tooOld(entries: Entry[]): boolean {
    const age = m().maximumRecordAgeInSeconds;
    if (age < 0) return false;
    const oldest = entries.find((e) => e.pass);
    return oldest !== undefined && deps.clock() - oldest.createdMs > age * 1000;
  }

  async function done(entries: Entry[]): Promise<void> {
    const last = entries[entries.length - 1]!;
    // An open window still needs its final invocation before the shard is done.
    const finishing = ended && queue.length === entries.length && !win;
    await commit({
      after: last.seq,
      ...(finishing && { done: true }),
      ...(win && { window: win }),
    });
    queue = queue.slice(entries.length);
    if (finishing) finished = true;
  }

  async function discard(
    entries: Entry[],
    condition: DiscardCondition,
    invokes: number,
    last: InvokeOutcome | undefined,
    finish: (entries: Entry[]) => Promise<void>,
  ): Promise<void> {
    const mapping = m();
    const batch = entries.filter((e) => e.pass).map((e) => e.rec);
    metrics.batchesDiscarded.inc({ ...labels(), condition });
    log.warn('batch discarded', {
      mapping: mapping.uuid,
      shard: shardId,
      condition,
      records: batch.length,
      first: batch[0]?.dynamodb.SequenceNumber,
    });
    if (mapping.onFailure) {
      const record = failureRecord({
        batch,
        shardId,
        streamArn,
        functionArn: deps.functionArn(mapping),
        condition,
        approximateInvokeCount: invokes,
        ...(last?.ok && { result: last.result }),
        ...(last && !last.ok && { failure: { statusCode: last.error.status } }),
        now: deps.clock(),
      });
      await deps.deliver(mapping, record);
    }
    await finish(entries);
  }

  /**
   * Runs batches in order, each to its end: done, or discarded. Bisected halves run in
   * order. `finish` is told of each (the checkpoint moves, or, in a lane, nothing yet).
   */
  async function runBatches(
    entries: Entry[],
    finish: (entries: Entry[]) => Promise<void>,
  ): Promise<void> {
    const work: Entry[][] = batches(entries);
    let retries = 0;
    let systemRetries = 0;
    let invokes = 0;
    let last: InvokeOutcome | undefined;
    while (work.length > 0 && !stopped) {
      const cur = work[0]!;
      const records = cur.filter((e) => e.pass).map((e) => e.rec);
      if (records.length === 0) {
        await finish(cur);
        work.shift();
        continue;
      }
      if (tooOld(cur)) {
        await discard(cur, 'RecordAgeExceeded', invokes, last, finish);
        work.shift();
        [retries, systemRetries, invokes, last] = [0, 0, 0, undefined];
        continue;
      }
      const newest = cur[cur.length - 1]!;
      metrics.iteratorAge.set(labels(), Math.max(0, deps.clock() - newest.createdMs));
      invokes++;
      last = await deps.invoke(
        m(),
        win
          ? windowEvent({ records, window: win, shardId, streamArn, final: false, early: false })
          : JSON.stringify({ Records: records }),
      );
      if (!last.ok) {
        const throttled = last.error.status === 429;
        metrics.invocations.inc({ ...labels(), outcome: throttled ? 'throttled' : 'error' });
        metrics.batchesFailed.inc(labels());
        await result(
          throttled ? 'PROBLEM: Function call throttled.' : `PROBLEM: ${last.error.message}`,
        );
        // Throttles and errors before the function ran count against no retries.
        await sleep(backoff(++systemRetries));
        continue;
      }
      let failedAt: string | 'all' | undefined = last.result.functionError ? 'all' : undefined;
      if (!failedAt && m().functionResponseTypes.includes('ReportBatchItemFailures')) {
        failedAt = batchItemFailure(last.result.payload, records);
      }
      const state = win && windowState(last.result.payload);
      if (win && !state) failedAt = 'all';
      if (failedAt === undefined) {
        metrics.invocations.inc({ ...labels(), outcome: 'success' });
        await result('OK');
        if (win && state) win = { ...win, state };
        await finish(cur);
        work.shift();
        [retries, systemRetries, invokes, last] = [0, 0, 0, undefined];
        continue;
      }
      metrics.invocations.inc({ ...labels(), outcome: 'function_error' });
      metrics.batchesFailed.inc(labels());
      await result('PROBLEM: Function call failed.');
      if (failedAt !== 'all') {
        // Everything before the lowest failed record is done; the batch resumes there.
        const at = cur.findIndex((e) => e.seq === failedAt);
        if (at > 0) {
          // The answer's state is that of the records before the failed one.
          if (win && state) win = { ...win, state };
          await finish(cur.slice(0, at));
          work[0] = cur.slice(at);
        }
      } else if (m().bisectBatchOnFunctionError && records.length > 1) {
        // Halves by records sent, in order; a split counts against no retries.
        const half = Math.ceil(records.length / 2);
        let seen = 0;
        const cut = cur.findIndex((e) => e.pass && ++seen > half);
        work.splice(0, 1, cur.slice(0, cut), cur.slice(cut));
        continue;
      }
      retries++;
      const max = m().maximumRetryAttempts;
      if (max >= 0 && retries > max) {
        await discard(work[0]!, 'RetryAttemptsExhausted', invokes, last, finish);
        work.shift();
        [retries, systemRetries, invokes, last] = [0, 0, 0, undefined];
        continue;
      }
      await sleep(backoff(retries));
    }
  }

  const windowed = () => (m().tumblingWindowInSeconds ?? 0) > 0;

  /** The open window's time is up and a read since found nothing more of it. */
  const windowOver = () => win !== undefined && deps.clock() >= win.end * 1000 + WINDOW_GRACE_MS;

  /** The final invocation of the open window, retried until it succeeds (as Lambda holds the shard). */
  async function closeWindow(early: boolean): Promise<void> {
    const w = win!;
    for (let attempt = 1; !stopped; attempt++) {
      const out = await deps.invoke(
        m(),
        windowEvent({ records: [], window: w, shardId, streamArn, final: true, early }),
      );
      const succeeded =
        out.ok && !out.result.functionError && windowState(out.result.payload) !== undefined;
      const failure = out.ok ? 'function_error' : out.error.status === 429 ? 'throttled' : 'error';
      metrics.invocations.inc({ ...labels(), outcome: succeeded ? 'success' : failure });
      if (succeeded) {
        await result('OK');
        win = undefined;
        await commit({ ...(position && { after: position }) });
        return;
      }
      metrics.batchesFailed.inc(labels());
      await result(out.ok ? 'PROBLEM: Function call failed.' : `PROBLEM: ${out.error.message}`);
      await sleep(backoff(attempt));
    }
  }

  /**
   * One step of a windowed mapping: the open window closed when it is over; else the
   * next batch, of the window of the queue's first passing record only.
   */
  async function stepWindow(): Promise<void> {
    const first = queue.find((e) => e.pass);
    if (win && (!windowed() || (first ? first.createdMs >= win.end * 1000 : windowOver()))) {
      // A record of a later window (or the setting turned off) ends the window now.
      await closeWindow(!windowed());
      return;
    }
    if (queue.length === 0) return;
    if (first && !win) {
      const size = m().tumblingWindowInSeconds ?? 0;
      const start = Math.floor(first.createdMs / 1000 / size) * size;
      win = { start, end: start + size, state: {} };
    }
    // A record older than the open window (out of order) goes in it: the window it
    // belongs to is over.
    const open = win;
    const later = open ? queue.findIndex((e) => e.pass && e.createdMs >= open.end * 1000) : -1;
    const mine = later < 0 ? queue : queue.slice(0, later);
    const stateBytes = open ? Buffer.byteLength(JSON.stringify(open.state)) : 0;
    await runBatches(head(mine, m().batchSize, PAYLOAD_LIMIT - stateBytes), async (entries) => {
      await done(entries);
      if (win && Buffer.byteLength(JSON.stringify(win.state)) > STATE_LIMIT)
        await closeWindow(true);
    });
  }

  async function step(): Promise<void> {
    if (!(await store.lease(m().uuid, shardId, token, options.leaseMs))) {
      holding = false;
      await sleep(Math.max(options.pollMs, options.leaseMs / 3));
      return;
    }
    if (!holding) {
      holding = true;
      await start();
      if (finished) return;
    }
    await gather();
    if (stopped) return;
    if (queue.length === 0 && ended) {
      // A closed shard read to its end: nothing more will come. Lambda does not carry
      // a window over to the child shards: it ends here, early if its time is not up.
      if (win) await closeWindow(deps.clock() < win.end * 1000);
      if (stopped) return;
      await commit({ ...(lastRead && { after: lastRead }), done: true });
      finished = true;
      return;
    }
    if (windowed() || win) {
      await stepWindow();
      return;
    }
    if (queue.length === 0) return;
    const lanes = m().parallelizationFactor;
    if (lanes <= 1) {
      await runBatches(head(queue, m().batchSize, PAYLOAD_LIMIT), done);
      return;
    }
    // ParallelizationFactor: up to that many batches of the shard at once, an item's
    // records always in the same lane; the checkpoint moves once every lane is done.
    const window = head(queue, lanes * m().batchSize, lanes * PAYLOAD_LIMIT);
    const byLane = new Map<number, Entry[]>();
    for (const e of window) {
      if (!e.pass) continue;
      const l = lane(e, lanes);
      byLane.set(l, [...(byLane.get(l) ?? []), e]);
    }
    await Promise.all([...byLane.values()].map((l) => runBatches(l, () => Promise.resolve())));
    if (!stopped) await done(window);
  }

  const running = (async () => {
    // The lease is extended while a batch runs (a function may run for minutes).
    const renew = setInterval(
      () => {
        if (holding)
          void store.lease(m().uuid, shardId, token, options.leaseMs).catch(() => undefined);
      },
      Math.max(10, options.leaseMs / 3),
    );
    while (!stopped && !finished) {
      try {
        await step();
      } catch (err) {
        holding = false;
        if (!(err instanceof LeaseLost)) {
          log.warn('stream poller failed; retrying', {
            mapping: m().uuid,
            shard: shardId,
            err: (err as Error).message,
          });
        }
        await sleep(options.pollMs * 4);
      }
    }
    clearInterval(renew);
    if (holding) await store.release(m().uuid, shardId, token).catch(() => undefined);
  })();

  return {
    shardId,
    get finished() {
      return finished;
    },
    async stop(): Promise<void> {
      stopped = true;
      wake?.();
      await running;
    },
  };
}

export type ShardPoller = ReturnType<typeof makeShardPoller>;
