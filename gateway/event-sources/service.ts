// Runs the event source mappings of a gateway: every pass (each second) it reads the
// mappings the API keeps in the store and derives those of the registry's
// `dynamodbStream` triggers, settles API state changes (Creating/Updating to
// Enabled or Disabled, Deleting to gone), looks up each mapping's shards and keeps
// one poller per shard running, a child shard's only once its parent is read. Every
// replica does the same; the shard leases let exactly one of them read each shard.
// makeGateway calls the factory with what only it has (the invoker, so stream
// invocations take the same quotas as any other).
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { keyOf } from '../../lib/function.ts';
import type { Logger } from '../../lib/log.ts';
import { delivery, parseDestination } from '../async/destinations.ts';
import type { EventStore } from '../async/store.ts';
import { lambdaErrors } from '../errors.ts';
import { functionArn, type Account, type Invoker } from '../invoker.ts';
import type { FunctionRegistry } from '../registry.ts';
import { shouldRun, triggerMapping, type Mapping } from './mapping.ts';
import { makeEventSourceMetrics, type EventSourceMetrics } from './metrics.ts';
import { DEFAULT_POLLER, makeShardPoller, type PollerOptions, type ShardPoller } from './poller.ts';
import type { MappingStore } from './store.ts';
import { reportingFailures, StreamsError, type StreamsApi } from './streams-client.ts';

export interface EventSourceOptions {
  store: MappingStore;
  /** The table service's DynamoDB and Streams API. */
  streams: StreamsApi;
  clock?: () => number;
  /** How often mappings, triggers and shards are looked at (default 1 s). */
  refreshMs?: number;
  poller?: Partial<PollerOptions>;
}

export interface EventSourceContext {
  registry: FunctionRegistry;
  account: Account;
  invoke: Invoker;
  metricsRegistry: Registry;
  log: Logger;
  /** Where onFailure records go (queue and function destinations); absent: they are logged. */
  events?: EventStore;
}

export interface EventSources {
  store: MappingStore;
  streams: StreamsApi;
  metrics: EventSourceMetrics;
  clock: () => number;
  /** API-created and trigger mappings, as of the last pass for triggers. */
  list(): Promise<Mapping[]>;
  get(uuid: string): Promise<Mapping | undefined>;
  lastResult(uuid: string): Promise<string | undefined>;
  /** One pass now (tests; the API after a change). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export type EventSourceFactory = (ctx: EventSourceContext) => EventSources;

interface Runner {
  mapping: Mapping;
  streamArn: string;
  pollers: Map<string, ShardPoller>;
}

export function makeEventSources(opts: EventSourceOptions): EventSourceFactory {
  return (ctx) => {
    const { store } = opts;
    const { registry, log } = ctx;
    const clock = opts.clock ?? Date.now;
    const options = { ...DEFAULT_POLLER, ...opts.poller };
    const metrics = makeEventSourceMetrics(ctx.metricsRegistry);
    const streams = reportingFailures(opts.streams, (action, error) =>
      metrics.streamErrors.inc({ action, error }),
    );
    const token = randomUUID();
    const runners = new Map<string, Runner>();
    const firstSeen = new Map<string, number>();
    let triggers: Mapping[] = [];
    let closed = false;

    const arnOf = (m: Mapping) =>
      functionArn(ctx.account, m.functionKey) + (m.qualifier ? `:${m.qualifier}` : '');

    async function invoke(m: Mapping, payload: string) {
      const fn = registry.resolve(m.functionKey, m.qualifier);
      if (!fn) return { ok: false as const, error: lambdaErrors.notFound(arnOf(m)) };
      return ctx.invoke(fn, { payload: Buffer.from(payload) });
    }

    async function deliver(m: Mapping, record: string): Promise<void> {
      const target = m.onFailure ? parseDestination(m.onFailure) : undefined;
      const d = delivery(target, record, m.functionKey);
      if (!d || !ctx.events) {
        log.error('on-failure record not delivered: no event store', { mapping: m.uuid, record });
        return;
      }
      await ctx.events.deliverRecord(d);
    }

    async function triggerMappings(): Promise<Mapping[]> {
      const out: Mapping[] = [];
      const seen = new Set<string>();
      const streamOf = new Map<string, Promise<{ arn?: string; problem?: string }>>();
      for (const fn of registry.list()) {
        for (const t of fn.spec.triggers) {
          if (!('dynamodbStream' in t)) continue;
          const key = keyOf(fn);
          const m = triggerMapping(key, t.dynamodbStream, 0);
          if (seen.has(m.uuid)) {
            log.warn('a second dynamodbStream trigger on the same table is ignored', {
              function: key,
              table: t.dynamodbStream.table,
            });
            continue;
          }
          seen.add(m.uuid);
          if (!firstSeen.has(m.uuid)) firstSeen.set(m.uuid, clock());
          m.lastModified = firstSeen.get(m.uuid)!;
          // Table names are the table service's (spec.tableName or the resource's name), in any namespace.
          const table = t.dynamodbStream.table;
          if (!streamOf.has(table)) {
            streamOf.set(
              table,
              streams.describeTable(table).then(
                (d) => (d.StreamEnabled && d.LatestStreamArn ? { arn: d.LatestStreamArn } : {}),
                (err: Error) => {
                  log.warn('trigger table not readable', { table, err: err.message });
                  // A refused signature says so where the trigger is listed.
                  return {
                    problem: `Table ${table} is not readable: ${err instanceof StreamsError ? err.type : err.message}`,
                  };
                },
              ),
            );
          }
          const { arn, problem } = await streamOf.get(table)!;
          if (arn) m.eventSourceArn = arn;
          else m.stateTransitionReason = problem ?? `Table ${table} has no enabled stream`;
          out.push(m);
        }
      }
      return out;
    }

    /** Settles the API's transitional states; resolves to the mappings that remain. */
    async function settle(all: Mapping[]): Promise<Mapping[]> {
      const out: Mapping[] = [];
      for (const m of all) {
        if (m.state === 'Deleting') {
          await stopRunner(m.uuid);
          await store.remove(m);
          continue;
        }
        if (m.state === 'Creating' || m.state === 'Updating') {
          m.state = m.enabled ? 'Enabled' : 'Disabled';
          m.stateTransitionReason = 'USER_INITIATED';
          await store.put(m);
        }
        out.push(m);
      }
      return out;
    }

    async function stopRunner(uuid: string): Promise<void> {
      const r = runners.get(uuid);
      if (!r) return;
      runners.delete(uuid);
      await Promise.all([...r.pollers.values()].map((p) => p.stop()));
    }

    /** Whether the shard is closed and read to its end, here or by another replica. */
    async function readToEnd(r: Runner, shardId: string): Promise<boolean> {
      if (r.pollers.get(shardId)?.finished) return true;
      return (await store.checkpoint(r.mapping.uuid, shardId))?.done === true;
    }

    async function run(m: Mapping): Promise<void> {
      const arn = m.eventSourceArn!;
      let r = runners.get(m.uuid);
      if (r && r.streamArn !== arn) {
        await stopRunner(m.uuid);
        r = undefined;
      }
      if (!r) {
        r = { mapping: m, streamArn: arn, pollers: new Map() };
        runners.set(m.uuid, r);
      }
      r.mapping = m;
      const runner = r;
      const { shards } = await streams.describeStream(arn);
      const listed = new Set(shards.map((s) => s.ShardId));
      for (const s of shards) {
        if (runner.pollers.has(s.ShardId)) continue;
        // As Lambda does, a child shard waits until its parent is read to its end, so an
        // item's records stay in order across a split. A parent no longer listed has
        // aged out of the stream: nothing of it is left to read first.
        const parent = s.ParentShardId;
        if (parent && listed.has(parent) && !(await readToEnd(runner, parent))) continue;
        runner.pollers.set(
          s.ShardId,
          makeShardPoller(
            {
              api: streams,
              store,
              mapping: () => runner.mapping,
              invoke,
              deliver,
              functionArn: arnOf,
              metrics,
              log,
              clock,
              token,
              options,
            },
            arn,
            s.ShardId,
          ),
        );
      }
    }

    let passing: Promise<void> | undefined;
    async function pass(): Promise<void> {
      const api = await settle(await store.list());
      triggers = await triggerMappings();
      const wanted = [...api, ...triggers].filter((m) => shouldRun(m) && m.eventSourceArn);
      const ids = new Set(wanted.map((m) => m.uuid));
      for (const uuid of [...runners.keys()]) if (!ids.has(uuid)) await stopRunner(uuid);
      for (const m of wanted) {
        if (closed) return;
        try {
          await run(m);
        } catch (err) {
          log.warn('event source mapping not started', {
            mapping: m.uuid,
            err: (err as Error).message,
          });
        }
      }
    }
    const refresh = () =>
      (passing ??= pass()
        .catch((err: unknown) =>
          log.warn('event source pass failed', { err: (err as Error).message }),
        )
        .finally(() => (passing = undefined)));

    void refresh();
    const timer = setInterval(() => void refresh(), opts.refreshMs ?? 1_000);

    return {
      store,
      streams,
      metrics,
      clock,
      async list() {
        return [...(await store.list()), ...triggers];
      },
      async get(uuid) {
        return (await this.list()).find((m) => m.uuid === uuid);
      },
      lastResult: (uuid) => store.lastResult(uuid),
      refresh,
      async close() {
        closed = true;
        clearInterval(timer);
        await passing;
        await Promise.all([...runners.keys()].map((u) => stopRunner(u)));
        await store.close();
      },
    };
  };
}
