// The Table model every component shares: the `spec` of a `Table` resource
// (selfless.dev/v1alpha1), field names as in DynamoDB's CreateTable in camelCase, the
// validation and defaults the CRD schema applies on the API server (so `selfless dev`
// refuses the same manifests a cluster does and sees the spec a cluster stores;
// test/table-model-crd.test.ts holds them to it), and the CreateTable request a spec
// stands for.
import type { CreateTableInput, GlobalSecondaryIndex } from '@aws-sdk/client-dynamodb';
import { Checker, isObject, type Parsed } from './parse.ts';

export interface KeyElement {
  attributeName: string;
  keyType: 'HASH' | 'RANGE';
}
export interface Throughput {
  readCapacityUnits: number;
  writeCapacityUnits: number;
}
export interface Projection {
  projectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  nonKeyAttributes?: string[];
}
export interface GlobalIndexSpec {
  indexName: string;
  keySchema: KeyElement[];
  projection?: Projection;
  provisionedThroughput?: Throughput;
}
export interface LocalIndexSpec {
  indexName: string;
  keySchema: KeyElement[];
  projection?: Projection;
}

export interface TableSpec {
  tableName?: string;
  attributeDefinitions: { attributeName: string; attributeType: 'S' | 'N' | 'B' }[];
  keySchema: KeyElement[];
  billingMode?: 'PAY_PER_REQUEST' | 'PROVISIONED';
  provisionedThroughput?: Throughput;
  globalSecondaryIndexes?: GlobalIndexSpec[];
  localSecondaryIndexes?: LocalIndexSpec[];
  deletionProtectionEnabled?: boolean;
  /** DynamoDB Streams: a stream of the table's item changes. */
  streamSpecification?: { streamEnabled: boolean; streamViewType?: StreamViewType };
  /** Time to live: the attribute whose Number of epoch seconds expires an item. */
  timeToLiveSpecification?: { attributeName: string; enabled: boolean };
  tableClass?: 'STANDARD' | 'STANDARD_INFREQUENT_ACCESS';
  /** The table service's read cache (its tags selfless:cache:*). */
  cache?: { itemTtlSeconds?: number; queryTtlSeconds?: number };
  /** Target tracking of the provisioned throughput, by the operator. */
  autoScaling?: { read?: ScalingSpec; write?: ScalingSpec };
}

export interface ScalingSpec {
  minCapacity: number;
  maxCapacity: number;
  targetUtilization: number;
  scaleOutCooldown?: number;
  scaleInCooldown?: number;
}

/** The table tags the read cache reads (tables/cache/read-cache.ts). */
export const CACHE_TAGS = {
  itemTtlSeconds: 'selfless:cache:itemTtlSeconds',
  queryTtlSeconds: 'selfless:cache:queryTtlSeconds',
} as const;

function parseScaling(raw: unknown, at: string, c: Checker): ScalingSpec | undefined {
  if (raw === undefined) return undefined;
  const r = isObject(raw) ? raw : {};
  const n = (k: string, min: number, max: number, def?: number) => {
    const v = r[k] ?? def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      c.fail(`${at}.${k}`, `must be an integer from ${min} to ${max}`);
      return min;
    }
    return v;
  };
  const out: ScalingSpec = {
    minCapacity: n('minCapacity', 1, 40_000),
    maxCapacity: n('maxCapacity', 1, 40_000),
    targetUtilization: n('targetUtilization', 20, 90, 70),
    scaleOutCooldown: n('scaleOutCooldown', 0, 86_400, 0),
    scaleInCooldown: n('scaleInCooldown', 0, 86_400, 0),
  };
  if (out.minCapacity > out.maxCapacity) c.fail(at, 'minCapacity exceeds maxCapacity');
  return out;
}

export const STREAM_VIEW_TYPES = [
  'NEW_IMAGE',
  'OLD_IMAGE',
  'NEW_AND_OLD_IMAGES',
  'KEYS_ONLY',
] as const;
export type StreamViewType = (typeof STREAM_VIEW_TYPES)[number];

export interface TableDefinition {
  /** metadata.name of the resource. */
  name: string;
  namespace: string;
  /** The DynamoDB table name: spec.tableName, else metadata.name. */
  tableName: string;
  spec: TableSpec;
}

export const TABLE_LIMITS = {
  attributeDefinitions: 50,
  globalSecondaryIndexes: 20,
  localSecondaryIndexes: 5,
  nonKeyAttributes: 100,
  attributeName: 255,
  capacityUnits: 40_000,
} as const;

const NAME_RE = /^[a-zA-Z0-9_.-]{3,255}$/;
const NAME_RULE = 'must be 3-255 characters of [a-zA-Z0-9_.-]';

export function tableNameOf(obj: {
  metadata?: { name?: string };
  spec?: { tableName?: string };
}): string {
  return obj.spec?.tableName ?? obj.metadata!.name!;
}

// The API server drops null fields before it validates a Table (no field of the CRD
// is nullable), so an empty `tableName:` in YAML means no tableName, and an empty
// required field is missing. A null list item is no field: it stays, and is refused.
function dropNullFields(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNullFields);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, dropNullFields(x)]),
  );
}

/** An attribute name as the CRD takes it: a string of 1 to 255 characters. */
function attributeName(raw: unknown, path: string, c: Checker): string | undefined {
  if (typeof raw !== 'string' || raw === '') {
    c.fail(path, 'is required');
    return undefined;
  }
  if (raw.length > TABLE_LIMITS.attributeName) {
    c.fail(path, `must be at most ${TABLE_LIMITS.attributeName} characters`);
    return undefined;
  }
  return raw;
}

/**
 * A KeySchema: one HASH then at most one RANGE key, or for a GSI (`multi`) up
 * to 4 HASH then up to 4 RANGE attributes (DynamoDB's multi-attribute keys).
 */
function parseKeySchema(raw: unknown, path: string, c: Checker, multi = false): KeyElement[] {
  const rule = multi
    ? 'must list 1 to 4 HASH keys, then at most 4 RANGE keys'
    : 'must list one HASH key and at most one RANGE key';
  if (!Array.isArray(raw) || raw.length < 1 || raw.length > (multi ? 8 : 2)) {
    c.fail(path, rule);
    return [];
  }
  const out: KeyElement[] = [];
  raw.forEach((k: unknown, i) => {
    const at = `${path}[${i}]`;
    const key = isObject(k) ? k : {};
    const name = attributeName(key.attributeName, `${at}.attributeName`, c);
    if (name === undefined) return;
    if (key.keyType !== 'HASH' && key.keyType !== 'RANGE') {
      c.fail(`${at}.keyType`, `must be HASH or RANGE, got ${JSON.stringify(key.keyType)}`);
      return;
    }
    out.push({ attributeName: name, keyType: key.keyType });
  });
  if (out.length !== raw.length) return out;
  if (!multi && (out[0]!.keyType !== 'HASH' || out[1]?.keyType === 'HASH')) {
    c.fail(path, 'must list the HASH key first and at most one RANGE key after it');
  }
  if (multi) {
    const hashes = out.findIndex((k) => k.keyType === 'RANGE');
    const nHash = hashes < 0 ? out.length : hashes;
    if (
      nHash < 1 ||
      nHash > 4 ||
      out.length - nHash > 4 ||
      out.slice(nHash).some((k) => k.keyType === 'HASH')
    ) {
      c.fail(path, rule);
    }
    if (new Set(out.map((k) => k.attributeName)).size !== out.length) {
      c.fail(path, 'must not list an attribute twice');
    }
  }
  return out;
}

function parseThroughput(raw: unknown, path: string, c: Checker): Throughput | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    c.fail(path, 'must be a mapping');
    return undefined;
  }
  const range = { min: 1, max: TABLE_LIMITS.capacityUnits };
  const read = c.int(raw, 'readCapacityUnits', `${path}.readCapacityUnits`, range);
  const write = c.int(raw, 'writeCapacityUnits', `${path}.writeCapacityUnits`, range);
  if (read === undefined) c.fail(`${path}.readCapacityUnits`, 'is required');
  if (write === undefined) c.fail(`${path}.writeCapacityUnits`, 'is required');
  return read !== undefined && write !== undefined
    ? { readCapacityUnits: read, writeCapacityUnits: write }
    : undefined;
}

function parseProjection(raw: unknown, path: string, c: Checker): Projection | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    c.fail(path, 'must be a mapping');
    return undefined;
  }
  const type = raw.projectionType ?? 'ALL';
  if (type !== 'ALL' && type !== 'KEYS_ONLY' && type !== 'INCLUDE') {
    c.fail(
      `${path}.projectionType`,
      `must be ALL, KEYS_ONLY or INCLUDE, got ${JSON.stringify(type)}`,
    );
    return undefined;
  }
  const out: Projection = { projectionType: type };
  if (raw.nonKeyAttributes !== undefined) {
    const attrs = raw.nonKeyAttributes;
    if (!Array.isArray(attrs)) {
      c.fail(`${path}.nonKeyAttributes`, 'must be a list of attribute names');
    } else if (attrs.length > TABLE_LIMITS.nonKeyAttributes) {
      c.fail(
        `${path}.nonKeyAttributes`,
        `must have at most ${TABLE_LIMITS.nonKeyAttributes} items`,
      );
    } else {
      const names = attrs.map((a: unknown, i) =>
        attributeName(a, `${path}.nonKeyAttributes[${i}]`, c),
      );
      if (names.every((n) => n !== undefined)) out.nonKeyAttributes = names;
    }
  }
  return out;
}

function parseIndexes<T extends LocalIndexSpec>(
  raw: unknown,
  path: string,
  max: number,
  c: Checker,
  withThroughput: boolean,
): T[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    c.fail(path, 'must be a list');
    return undefined;
  }
  if (raw.length > max) c.fail(path, `must have at most ${max} items`);
  const names = new Set<string>();
  return raw.flatMap((ix: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(ix)) {
      c.fail(at, 'must be a mapping');
      return [];
    }
    if (typeof ix.indexName !== 'string' || !NAME_RE.test(ix.indexName)) {
      c.fail(`${at}.indexName`, NAME_RULE);
      return [];
    }
    if (names.has(ix.indexName)) c.fail(`${at}.indexName`, `${ix.indexName} is listed twice`);
    names.add(ix.indexName);
    const out = {
      indexName: ix.indexName,
      keySchema: parseKeySchema(ix.keySchema, `${at}.keySchema`, c, withThroughput),
    } as T;
    // The CRD defaults an absent projection to ALL, so a spec parsed here equals
    // the one the API server stores.
    out.projection = parseProjection(ix.projection, `${at}.projection`, c) ?? {
      projectionType: 'ALL',
    };
    if (withThroughput) {
      const t = parseThroughput(ix.provisionedThroughput, `${at}.provisionedThroughput`, c);
      if (t) (out as GlobalIndexSpec).provisionedThroughput = t;
    }
    return [out];
  });
}

/** A Table `spec`, checked and defaulted as the CRD schema does on the API server. */
export function parseTableSpec(raw: unknown, c = new Checker()): Parsed<TableSpec> {
  const input = dropNullFields(raw);
  if (!isObject(input)) {
    c.fail('spec', 'must be a mapping');
    return { ok: false, errors: c.errors };
  }
  const spec: Partial<TableSpec> = {};
  if (input.tableName !== undefined) {
    if (typeof input.tableName !== 'string' || !NAME_RE.test(input.tableName)) {
      c.fail('spec.tableName', NAME_RULE);
    } else spec.tableName = input.tableName;
  }
  const defs = input.attributeDefinitions;
  if (!Array.isArray(defs) || defs.length === 0) {
    c.fail('spec.attributeDefinitions', 'must list at least one attribute');
  } else {
    if (defs.length > TABLE_LIMITS.attributeDefinitions) {
      c.fail(
        'spec.attributeDefinitions',
        `must have at most ${TABLE_LIMITS.attributeDefinitions} items`,
      );
    }
    const names = new Set<string>();
    spec.attributeDefinitions = defs.flatMap((d: unknown, i) => {
      const at = `spec.attributeDefinitions[${i}]`;
      const def = isObject(d) ? d : {};
      const name = attributeName(def.attributeName, `${at}.attributeName`, c);
      if (name === undefined) return [];
      if (names.has(name)) {
        c.fail(`${at}.attributeName`, `${name} is listed twice`);
        return [];
      }
      names.add(name);
      const type = def.attributeType;
      if (type !== 'S' && type !== 'N' && type !== 'B') {
        c.fail(`${at}.attributeType`, `must be S, N or B, got ${JSON.stringify(type)}`);
        return [];
      }
      return [{ attributeName: name, attributeType: type }];
    });
  }
  spec.keySchema = parseKeySchema(input.keySchema, 'spec.keySchema', c);
  const mode = input.billingMode ?? 'PAY_PER_REQUEST';
  if (mode !== 'PAY_PER_REQUEST' && mode !== 'PROVISIONED') {
    c.fail(
      'spec.billingMode',
      `must be PAY_PER_REQUEST or PROVISIONED, got ${JSON.stringify(mode)}`,
    );
  } else spec.billingMode = mode;
  const throughput = parseThroughput(input.provisionedThroughput, 'spec.provisionedThroughput', c);
  if (throughput) spec.provisionedThroughput = throughput;
  if (mode === 'PROVISIONED' && input.provisionedThroughput === undefined) {
    c.fail('spec.provisionedThroughput', 'is required when billingMode is PROVISIONED');
  }
  if (mode === 'PAY_PER_REQUEST' && input.provisionedThroughput !== undefined) {
    c.fail('spec.provisionedThroughput', 'must not be set when billingMode is PAY_PER_REQUEST');
  }
  const gsis = parseIndexes<GlobalIndexSpec>(
    input.globalSecondaryIndexes,
    'spec.globalSecondaryIndexes',
    TABLE_LIMITS.globalSecondaryIndexes,
    c,
    true,
  );
  if (gsis) spec.globalSecondaryIndexes = gsis;
  const lsis = parseIndexes<LocalIndexSpec>(
    input.localSecondaryIndexes,
    'spec.localSecondaryIndexes',
    TABLE_LIMITS.localSecondaryIndexes,
    c,
    false,
  );
  if (lsis) spec.localSecondaryIndexes = lsis;
  const cls = input.tableClass;
  if (cls !== undefined) {
    if (cls !== 'STANDARD' && cls !== 'STANDARD_INFREQUENT_ACCESS') {
      c.fail('spec.tableClass', 'must be STANDARD or STANDARD_INFREQUENT_ACCESS');
    } else spec.tableClass = cls;
  }
  if (input.cache !== undefined) {
    const r = isObject(input.cache) ? input.cache : {};
    spec.cache = {};
    for (const k of ['itemTtlSeconds', 'queryTtlSeconds'] as const) {
      const v = r[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 86_400) {
        c.fail(`spec.cache.${k}`, 'must be an integer from 0 to 86400');
      } else spec.cache[k] = v;
    }
  }
  if (input.autoScaling !== undefined) {
    const r = isObject(input.autoScaling) ? input.autoScaling : {};
    if (mode !== 'PROVISIONED') c.fail('spec.autoScaling', 'needs billingMode PROVISIONED');
    const read = parseScaling(r.read, 'spec.autoScaling.read', c);
    const write = parseScaling(r.write, 'spec.autoScaling.write', c);
    spec.autoScaling = { ...(read && { read }), ...(write && { write }) };
  }
  const protect = input.deletionProtectionEnabled ?? true;
  if (typeof protect !== 'boolean') {
    c.fail('spec.deletionProtectionEnabled', 'must be true or false');
  } else spec.deletionProtectionEnabled = protect;
  const stream = input.streamSpecification;
  if (stream !== undefined) {
    const s = isObject(stream) ? stream : {};
    const view = s.streamViewType;
    if (typeof s.streamEnabled !== 'boolean') {
      c.fail('spec.streamSpecification.streamEnabled', 'must be true or false');
    } else if (view !== undefined && !STREAM_VIEW_TYPES.includes(view as StreamViewType)) {
      c.fail(
        'spec.streamSpecification.streamViewType',
        `must be one of ${STREAM_VIEW_TYPES.join(', ')}`,
      );
    } else if (s.streamEnabled && view === undefined) {
      c.fail('spec.streamSpecification.streamViewType', 'is required when streamEnabled is true');
    } else {
      spec.streamSpecification = {
        streamEnabled: s.streamEnabled,
        ...(s.streamEnabled && { streamViewType: view as StreamViewType }),
      };
    }
  }
  const ttl = input.timeToLiveSpecification;
  if (ttl !== undefined) {
    const t = isObject(ttl) ? ttl : {};
    const name = attributeName(t.attributeName, 'spec.timeToLiveSpecification.attributeName', c);
    if (typeof t.enabled !== 'boolean') {
      c.fail('spec.timeToLiveSpecification.enabled', 'must be true or false');
    } else if (name !== undefined) {
      spec.timeToLiveSpecification = { attributeName: name, enabled: t.enabled };
    }
  }
  const defined = new Set((spec.attributeDefinitions ?? []).map((d) => d.attributeName));
  if (defined.size > 0 && spec.keySchema.some((k) => !defined.has(k.attributeName))) {
    c.fail('spec.keySchema', 'every key attribute must be listed in attributeDefinitions');
  }
  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  return { ok: true, value: spec as TableSpec };
}

/** A `Table` manifest as users `kubectl apply` it, or a custom object from the API server. */
export function parseTableManifest(doc: unknown): Parsed<TableDefinition> {
  if (!isObject(doc))
    return { ok: false, errors: [{ field: '', message: 'must be a YAML mapping' }] };
  const c = new Checker();
  if (doc.apiVersion !== 'selfless.dev/v1alpha1') {
    c.fail('apiVersion', `must be selfless.dev/v1alpha1, got ${JSON.stringify(doc.apiVersion)}`);
  }
  if (doc.kind !== 'Table') c.fail('kind', `must be Table, got ${JSON.stringify(doc.kind)}`);
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  if (typeof meta.name !== 'string' || meta.name === '') c.fail('metadata.name', 'is required');
  const spec = parseTableSpec(doc.spec, c);
  if (!spec.ok || c.errors.length > 0) return { ok: false, errors: c.errors };
  const name = meta.name as string;
  const tableName = spec.value.tableName ?? name;
  if (!NAME_RE.test(tableName)) {
    return {
      ok: false,
      errors: [
        {
          field: 'metadata.name',
          message: 'a table name needs 3-255 characters of [a-zA-Z0-9_.-]; set spec.tableName',
        },
      ],
    };
  }
  return {
    ok: true,
    value: {
      name,
      namespace: typeof meta.namespace === 'string' ? meta.namespace : 'default',
      tableName,
      spec: spec.value,
    },
  };
}

const keys = (k: KeyElement[]) =>
  k.map((x) => ({ AttributeName: x.attributeName, KeyType: x.keyType }));

export const throughputInput = (t: Throughput | undefined) =>
  t && { ReadCapacityUnits: t.readCapacityUnits, WriteCapacityUnits: t.writeCapacityUnits };

const projectionInput = (p: Projection | undefined) => ({
  ProjectionType: p?.projectionType ?? 'ALL',
  ...(p?.nonKeyAttributes?.length ? { NonKeyAttributes: p.nonKeyAttributes } : {}),
});

/** The CreateTable shape of one of the spec's global secondary indexes. */
export function globalIndexInput(spec: TableSpec, g: GlobalIndexSpec): GlobalSecondaryIndex {
  const out: GlobalSecondaryIndex = {
    IndexName: g.indexName,
    KeySchema: keys(g.keySchema),
    Projection: projectionInput(g.projection),
  };
  if (spec.billingMode === 'PROVISIONED') {
    out.ProvisionedThroughput = throughputInput(
      g.provisionedThroughput ?? spec.provisionedThroughput,
    );
  }
  return out;
}

/** The CreateTable request a spec stands for (deletion protection on by default). */
export function createTableInput(spec: TableSpec, tableName: string): CreateTableInput {
  const input: CreateTableInput = {
    TableName: tableName,
    AttributeDefinitions: spec.attributeDefinitions.map((a) => ({
      AttributeName: a.attributeName,
      AttributeType: a.attributeType,
    })),
    KeySchema: keys(spec.keySchema),
    BillingMode: spec.billingMode ?? 'PAY_PER_REQUEST',
    DeletionProtectionEnabled: spec.deletionProtectionEnabled ?? true,
  };
  if (spec.tableClass) input.TableClass = spec.tableClass;
  const tags = Object.entries(spec.cache ?? {}).map(([k, v]) => ({
    Key: CACHE_TAGS[k as keyof typeof CACHE_TAGS],
    Value: String(v),
  }));
  if (tags.length) input.Tags = tags;
  if (spec.billingMode === 'PROVISIONED')
    input.ProvisionedThroughput = throughputInput(spec.provisionedThroughput);
  if (spec.streamSpecification?.streamEnabled) {
    input.StreamSpecification = {
      StreamEnabled: true,
      StreamViewType: spec.streamSpecification.streamViewType,
    };
  }
  if (spec.globalSecondaryIndexes?.length)
    input.GlobalSecondaryIndexes = spec.globalSecondaryIndexes.map((g) =>
      globalIndexInput(spec, g),
    );
  if (spec.localSecondaryIndexes?.length) {
    input.LocalSecondaryIndexes = spec.localSecondaryIndexes.map((l) => ({
      IndexName: l.indexName,
      KeySchema: keys(l.keySchema),
      Projection: projectionInput(l.projection),
    }));
  }
  return input;
}
