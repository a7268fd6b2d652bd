// Enforces the budgets of budgets.ts on every read and write. A request is admitted
// before it touches storage by reserving its estimated units (the least it can
// cost: one write unit per KB of a new item, half or one read unit) in every bucket
// it draws on, atomically in the store; when it has run, what it really consumed
// (the units ReturnConsumedCapacity reports, which reach here through the action
// observer) is settled against the reservation. So a budget is exceeded at most by
// the settlements of requests in flight, and the debt they leave throttles the next
// requests until the refill has paid it back.
import type { ActionObserver } from '../actions/context.ts';
import { DynamoError } from '../errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { IndexMeta, TableMeta } from '../storage/engine.ts';
import type { BucketSpec, BucketStore, Charge, Draw } from './buckets.ts';
import {
  indexBudget,
  isBounded,
  tableBudget,
  writtenGlobalIndexes,
  type Budget,
  type Kind,
} from './budgets.ts';

export const tableThrottledMessage =
  'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.';
export const indexThrottledMessage =
  'The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API';
export const onDemandThrottledMessage =
  'Throughput exceeds the maximum OnDemandThroughput configured on table or index';

/** The error of a budget that cannot pay, with the ThrottlingReasons DynamoDB adds. */
export function throttled(budget: Budget, kind: Kind): DynamoError {
  const what = `${budget.index === undefined ? 'Table' : 'Index'}${kind === 'read' ? 'Read' : 'Write'}`;
  const reasons = [
    {
      reason: `${what}${budget.mode === 'provisioned' ? 'ProvisionedThroughputExceeded' : 'MaxOnDemandThroughputExceeded'}`,
      resource: budget.resource,
    },
  ];
  if (budget.mode === 'on-demand') {
    // DynamoDB answers on-demand throttling from its availability layer, whose
    // error type carries that layer's namespace rather than the DynamoDB one.
    return new DynamoError('ThrottlingException', onDemandThrottledMessage, 400, {
      __type: 'com.amazon.coral.availability#ThrottlingException',
      ThrottlingReasons: reasons,
    });
  }
  return new DynamoError(
    'ProvisionedThroughputExceededException',
    budget.index === undefined ? tableThrottledMessage : indexThrottledMessage,
    400,
    { ThrottlingReasons: reasons },
  );
}

export interface CapacityMetrics {
  throttled(table: string, index: string, kind: Kind): void;
  provisioned(table: string, index: string, kind: Kind, units: number): void;
}

export interface CapacityGuardOptions {
  store: BucketStore;
  /** Epoch ms; replicas sharing a store compare each other's, so the wall clock outside tests. */
  clock?: () => number;
  metrics?: CapacityMetrics;
  log?: Logger;
}

interface Usage {
  total: number;
  global: Map<string, number>;
}

interface TableRecord {
  meta: TableMeta;
  reserved: Map<string, { spec: BucketSpec; units: number }>;
  used: Record<Kind, Usage>;
}

/** One request's admissions and consumption. */
export class RequestCapacity {
  private readonly tables = new Map<string, TableRecord>();

  constructor(private readonly guard: CapacityGuard) {}

  private record(meta: TableMeta): TableRecord {
    let r = this.tables.get(meta.name);
    if (!r) {
      r = {
        meta,
        reserved: new Map(),
        used: {
          read: { total: 0, global: new Map() },
          write: { total: 0, global: new Map() },
        },
      };
      this.tables.set(meta.name, r);
    }
    return r;
  }

  /**
   * Admits `units` of `kind` on the table, or on the GSI `index` for a read of it;
   * a write also needs every GSI it maintains out of debt. Throws DynamoDB's
   * throttling error when a budget cannot pay.
   */
  async admit(meta: TableMeta, kind: Kind, units: number, index?: IndexMeta): Promise<void> {
    const r = this.record(meta);
    if (!isBounded(meta)) return;
    const budgets: { budget: Budget; mode: Draw['mode'] }[] = [];
    const onIndex = index && !index.local;
    const own = onIndex ? indexBudget(meta, index.name, kind) : tableBudget(meta, kind);
    if (own) budgets.push({ budget: own, mode: 'reserve' });
    if (kind === 'write') {
      for (const g of writtenGlobalIndexes(meta)) {
        const b = indexBudget(meta, g.name, 'write');
        if (b) budgets.push({ budget: b, mode: 'positive' });
      }
    }
    if (!budgets.length) return;
    for (const { budget } of budgets) {
      this.guard.metrics?.provisioned(meta.name, budget.index ?? '', kind, budget.spec.rate);
    }
    const draws = budgets.map(({ budget, mode }) => ({ spec: budget.spec, units, mode }));
    const failed = await this.guard.store.take(draws, this.guard.now());
    if (failed >= 0) {
      const b = budgets[failed]!.budget;
      this.guard.metrics?.throttled(meta.name, b.index ?? '', kind);
      throw throttled(b, kind);
    }
    for (const d of draws) {
      if (d.mode !== 'reserve') continue;
      const prev = r.reserved.get(d.spec.key);
      r.reserved.set(d.spec.key, { spec: d.spec, units: (prev?.units ?? 0) + d.units });
    }
  }

  /** The observer's report of a table's units (its GSIs' included). */
  capacity(table: string, kind: Kind, units: number): void {
    const r = this.tables.get(table);
    if (r) r.used[kind].total += units;
  }

  /** The observer's report of a global secondary index's part of those units. */
  indexCapacity(table: string, index: string, kind: Kind, units: number): void {
    const u = this.tables.get(table)?.used[kind];
    if (u) u.global.set(index, (u.global.get(index) ?? 0) + units);
  }

  /** Settles what the request consumed against what it reserved (in the background). */
  finish(): void {
    const charges: Charge[] = [];
    for (const r of this.tables.values()) {
      if (!isBounded(r.meta)) continue;
      for (const kind of ['read', 'write'] as const) {
        const used = r.used[kind];
        if (used.total === 0) continue;
        let onIndexes = 0;
        for (const [index, units] of used.global) {
          onIndexes += units;
          const b = indexBudget(r.meta, index, kind);
          if (b) charges.push(settle(b.spec, units, r.reserved.get(b.spec.key)?.units));
        }
        const b = tableBudget(r.meta, kind);
        if (b)
          charges.push(settle(b.spec, used.total - onIndexes, r.reserved.get(b.spec.key)?.units));
      }
    }
    const due = charges.filter((c) => c.units !== 0);
    if (!due.length) return;
    this.guard.store.charge(due, this.guard.now()).catch((err: unknown) => {
      this.guard.log?.warn('capacity settlement failed', { err: String(err) });
    });
  }
}

function settle(spec: BucketSpec, used: number, reserved = 0): Charge {
  return { spec, units: used - reserved };
}

export class CapacityGuard {
  readonly store: BucketStore;
  readonly metrics?: CapacityMetrics;
  readonly log?: Logger;
  readonly now: () => number;

  constructor(opts: CapacityGuardOptions) {
    this.store = opts.store;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.now = opts.clock ?? Date.now;
  }

  request(): RequestCapacity {
    return new RequestCapacity(this);
  }
}

/** The request's observer: the service's (metrics) and the request's capacity both hear every report. */
export function observing(
  base: ActionObserver | undefined,
  usage: RequestCapacity,
): ActionObserver {
  return {
    capacity(table, kind, units) {
      base?.capacity(table, kind, units);
      usage.capacity(table, kind, units);
    },
    indexCapacity(table, index, kind, units) {
      base?.indexCapacity?.(table, index, kind, units);
      usage.indexCapacity(table, index, kind, units);
    },
    conditionalCheckFailed(table) {
      base?.conditionalCheckFailed(table);
    },
  };
}
