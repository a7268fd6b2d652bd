// The capacity and storage settings of CreateTable / UpdateTable beyond provisioned
// throughput: OnDemandThroughput (the on-demand caps budgets.ts enforces),
// WarmThroughput (reported: the rate a table serves at once) and TableClass
// (TableClassSummary; on cql it picks the table's compaction and compression,
// storage/cql/table-class.ts). Each action calls one function of this file, so the
// fields stay out of the action modules' own logic.
import { validation } from '../errors.ts';
import type { Field } from '../validate.ts';

export const onDemandField = {
  type: 'Struct',
  fields: {
    MaxReadRequestUnits: { type: 'Long' },
    MaxWriteRequestUnits: { type: 'Long' },
  },
} satisfies Field;

export const warmField = {
  type: 'Struct',
  fields: {
    ReadUnitsPerSecond: { type: 'Long' },
    WriteUnitsPerSecond: { type: 'Long' },
  },
} satisfies Field;

export const tableClasses = ['STANDARD', 'STANDARD_INFREQUENT_ACCESS'] as const;
export type TableClass = (typeof tableClasses)[number];

/** The table-level fields CreateTable and UpdateTable add to their schemas. */
export const settingsFields = {
  OnDemandThroughput: onDemandField,
  WarmThroughput: warmField,
  TableClass: { type: 'String', enum: [...tableClasses] },
} satisfies Record<string, Field>;

/** The fields an index of CreateTable (or a GSI Create/Update) adds. */
export const indexSettingsFields = {
  OnDemandThroughput: onDemandField,
  WarmThroughput: warmField,
} satisfies Record<string, Field>;

/** What a new on-demand table serves at once, DynamoDB's starting point. */
export const defaultWarm = { ReadUnitsPerSecond: 12000, WriteUnitsPerSecond: 4000 };

interface OnDemand {
  MaxReadRequestUnits?: number;
  MaxWriteRequestUnits?: number;
}
interface Warm {
  ReadUnitsPerSecond?: number;
  WriteUnitsPerSecond?: number;
}
type Description = Record<string, unknown>;

const invalid = (msg: string) => validation(`One or more parameter values were invalid: ${msg}`);

function checkOnDemand(o: OnDemand, billing: string): void {
  if (billing !== 'PAY_PER_REQUEST') {
    throw invalid('OnDemandThroughput can only be specified when BillingMode is PAY_PER_REQUEST');
  }
  for (const k of ['MaxReadRequestUnits', 'MaxWriteRequestUnits'] as const) {
    const v = o[k];
    if (v != null && v !== -1 && v < 1) {
      throw invalid(`${k} must be -1 (no maximum) or at least 1, was ${v}`);
    }
  }
}

/** Merges a change into OnDemandThroughput: an absent member keeps its value, -1 removes the cap. */
function mergeOnDemand(old: OnDemand | undefined, next: OnDemand): OnDemand {
  return {
    MaxReadRequestUnits: next.MaxReadRequestUnits ?? old?.MaxReadRequestUnits ?? -1,
    MaxWriteRequestUnits: next.MaxWriteRequestUnits ?? old?.MaxWriteRequestUnits ?? -1,
  };
}

function applyIndexSettings(entry: Description, g: Record<string, unknown>, billing: string): void {
  const o = g.OnDemandThroughput as OnDemand | undefined;
  if (o) {
    checkOnDemand(o, billing);
    entry.OnDemandThroughput = mergeOnDemand(entry.OnDemandThroughput as OnDemand | undefined, o);
  }
  if (g.WarmThroughput) entry.WarmThroughput = { ...(g.WarmThroughput as Warm) };
}

/** CreateTable: records the settings of the request in the new description. */
export function createSettings(
  req: Record<string, unknown>,
  d: Description,
  billing: string,
): void {
  const o = req.OnDemandThroughput as OnDemand | undefined;
  if (o) {
    checkOnDemand(o, billing);
    d.OnDemandThroughput = mergeOnDemand(undefined, o);
  } else if (billing === 'PAY_PER_REQUEST') {
    d.OnDemandThroughput = { MaxReadRequestUnits: -1, MaxWriteRequestUnits: -1 };
  }
  if (req.WarmThroughput) d.WarmThroughput = { ...(req.WarmThroughput as Warm) };
  if (req.TableClass) d.TableClassSummary = { TableClass: req.TableClass };
  const gsis = req.GlobalSecondaryIndexes as Record<string, unknown>[] | undefined;
  for (const g of gsis ?? []) {
    const entry = (d.GlobalSecondaryIndexes as Description[] | undefined)?.find(
      (e) => e.IndexName === g.IndexName,
    );
    if (entry) applyIndexSettings(entry, g, billing);
  }
}

/** Whether an UpdateTable request changes any of these settings. */
export function updatesSettings(req: Record<string, unknown>): boolean {
  return req.OnDemandThroughput != null || req.WarmThroughput != null || req.TableClass != null;
}

/**
 * UpdateTable: applies the settings of the request to the description `d` of a
 * table now billed `billing` (after any BillingMode change of the same request).
 */
export function updateSettings(
  req: Record<string, unknown>,
  d: Description,
  billing: string,
  now: number,
): void {
  const o = req.OnDemandThroughput as OnDemand | undefined;
  if (o) {
    checkOnDemand(o, billing);
    d.OnDemandThroughput = mergeOnDemand(d.OnDemandThroughput as OnDemand | undefined, o);
  } else if (billing === 'PAY_PER_REQUEST' && !d.OnDemandThroughput) {
    d.OnDemandThroughput = { MaxReadRequestUnits: -1, MaxWriteRequestUnits: -1 };
  } else if (billing === 'PROVISIONED') {
    delete d.OnDemandThroughput;
  }
  if (req.WarmThroughput) {
    d.WarmThroughput = {
      ...(d.WarmThroughput as Warm | undefined),
      ...(req.WarmThroughput as Warm),
    };
  }
  if (req.TableClass) {
    d.TableClassSummary = { TableClass: req.TableClass, LastUpdateDateTime: now / 1000 };
  }
  const updates =
    (req.GlobalSecondaryIndexUpdates as Record<string, Record<string, unknown>>[]) ?? [];
  for (const u of updates) {
    const g = u.Update ?? u.Create;
    if (!g) continue;
    const entry = (d.GlobalSecondaryIndexes as Description[] | undefined)?.find(
      (e) => e.IndexName === g.IndexName,
    );
    if (entry) applyIndexSettings(entry, g, billing);
  }
}

function warmOf(
  requested: Warm | undefined,
  throughput: Record<string, number> | undefined,
): Description {
  return {
    ReadUnitsPerSecond: Math.max(
      defaultWarm.ReadUnitsPerSecond,
      requested?.ReadUnitsPerSecond ?? 0,
      throughput?.ReadCapacityUnits ?? 0,
    ),
    WriteUnitsPerSecond: Math.max(
      defaultWarm.WriteUnitsPerSecond,
      requested?.WriteUnitsPerSecond ?? 0,
      throughput?.WriteCapacityUnits ?? 0,
    ),
    Status: 'ACTIVE',
  };
}

/**
 * DescribeTable's WarmThroughput of the table and of each GSI entry: the larger of
 * DynamoDB's starting point for new tables, what was asked for, and the provisioned
 * units. The service has no partitions to pre-warm, so it serves whatever the
 * budget allows at once: the figure is what DynamoDB would report.
 */
export function describeWarm(d: Description, out: Description): void {
  out.WarmThroughput = warmOf(
    d.WarmThroughput as Warm | undefined,
    d.ProvisionedThroughput as Record<string, number> | undefined,
  );
  const gsis = out.GlobalSecondaryIndexes as Description[] | undefined;
  if (gsis) {
    out.GlobalSecondaryIndexes = gsis.map((g) => ({
      ...g,
      WarmThroughput: warmOf(
        g.WarmThroughput as Warm | undefined,
        g.ProvisionedThroughput as Record<string, number> | undefined,
      ),
    }));
  }
}

/** The class of a table description (STANDARD when never set). */
export function tableClassOf(d: Description): TableClass {
  return (d.TableClassSummary as { TableClass?: TableClass } | undefined)?.TableClass ?? 'STANDARD';
}
