// The Table model (lib/table.ts) and the Table CRD agree: on the real API server
// (server-side dry run) the CRD refuses every spec parseTableSpec refuses, naming
// the same field, admits every spec it admits, and stores exactly the spec it
// returns (defaults filled in, unknown fields dropped). `selfless dev` parses
// manifests with the model, a cluster with the CRD, so a disagreement is a manifest
// that works in one and not the other.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION } from '../crds/schema.ts';
import { parseTableManifest, tableNameOf } from '../lib/table.ts';
import { installCrds, makeNamespace, testKubeConfig } from './support/kubernetes.ts';

type Spec = Record<string, unknown>;

const base = (): Spec => ({
  attributeDefinitions: [
    { attributeName: 'pk', attributeType: 'S' },
    { attributeName: 'sk', attributeType: 'N' },
  ],
  keySchema: [
    { attributeName: 'pk', keyType: 'HASH' },
    { attributeName: 'sk', keyType: 'RANGE' },
  ],
});
const throughput = { readCapacityUnits: 5, writeCapacityUnits: 5 };
const provisioned = { billingMode: 'PROVISIONED', provisionedThroughput: throughput };
const gsi = (indexName: string, extra: Spec = {}) => ({
  indexName,
  keySchema: [{ attributeName: 'sk', keyType: 'HASH' }],
  ...extra,
});
const lsi = (indexName: string, extra: Spec = {}) => ({
  indexName,
  keySchema: [
    { attributeName: 'pk', keyType: 'HASH' },
    { attributeName: 'sk', keyType: 'RANGE' },
  ],
  ...extra,
});
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

interface Case {
  name: string;
  spec: Spec;
  metadataName?: string;
  /** Absent: both accept. Present: both refuse, each naming this field. */
  field?: string;
}

const cases: Case[] = [
  { name: 'a HASH + RANGE table on demand', spec: base() },
  {
    name: 'a HASH-only binary key',
    spec: {
      attributeDefinitions: [{ attributeName: 'id', attributeType: 'B' }],
      keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
    },
  },
  {
    name: 'every optional field',
    spec: {
      ...base(),
      ...provisioned,
      tableName: 'Users.v2',
      deletionProtectionEnabled: false,
      globalSecondaryIndexes: [
        gsi('by-sk', {
          projection: { projectionType: 'INCLUDE', nonKeyAttributes: ['email', 'name'] },
          provisionedThroughput: { readCapacityUnits: 1, writeCapacityUnits: 40_000 },
        }),
        gsi('by-sk-keys', { projection: { projectionType: 'KEYS_ONLY' } }),
      ],
      localSecondaryIndexes: [lsi('by-pk', { projection: {} })],
    },
  },
  {
    name: 'indexes without a projection (both default it to ALL)',
    spec: {
      ...base(),
      globalSecondaryIndexes: [gsi('by-sk')],
      localSecondaryIndexes: [lsi('by-pk')],
    },
  },
  {
    name: 'a field the CRD does not know (both drop it)',
    spec: { ...base(), sseSpecification: { enabled: true } },
  },
  {
    name: 'every limit at its maximum',
    spec: {
      tableName: 't'.repeat(255),
      attributeDefinitions: many(50, (i) => ({
        attributeName: i === 0 ? 'k'.repeat(255) : `a${i}`,
        attributeType: 'S',
      })),
      keySchema: [{ attributeName: 'k'.repeat(255), keyType: 'HASH' }],
      billingMode: 'PROVISIONED',
      provisionedThroughput: { readCapacityUnits: 40_000, writeCapacityUnits: 40_000 },
      globalSecondaryIndexes: many(20, (i) =>
        gsi(`gsi-${i}`, {
          projection: { projectionType: 'INCLUDE', nonKeyAttributes: many(100, (j) => `n${j}`) },
        }),
      ),
      localSecondaryIndexes: many(5, (i) => lsi(`lsi-${i}`)),
    },
  },
  {
    // An empty `tableName:` in YAML is a null: the API server drops null fields
    // before it validates, so both read it as absent.
    name: 'optional fields left empty (null)',
    spec: {
      ...base(),
      tableName: null,
      billingMode: null,
      provisionedThroughput: null,
      deletionProtectionEnabled: null,
      localSecondaryIndexes: null,
      globalSecondaryIndexes: [
        gsi('by-sk', { projection: null, provisionedThroughput: null }),
        gsi('by-sk-2', { projection: { projectionType: null, nonKeyAttributes: null } }),
      ],
    },
  },
  {
    name: 'a required field left empty (null)',
    spec: {
      ...base(),
      ...provisioned,
      provisionedThroughput: { readCapacityUnits: null, writeCapacityUnits: 1 },
    },
    field: 'spec.provisionedThroughput.readCapacityUnits',
  },
  {
    name: 'a key type left empty (null)',
    spec: { ...base(), keySchema: [{ attributeName: 'pk', keyType: null }] },
    field: 'spec.keySchema[0].keyType',
  },
  {
    name: 'a null attribute definition (a list item is not dropped)',
    spec: { ...base(), attributeDefinitions: [null] },
    field: 'spec.attributeDefinitions[0]',
  },
  {
    name: 'a two-character name with spec.tableName',
    metadataName: 'ab',
    spec: { ...base(), tableName: 'abc' },
  },

  {
    name: 'no attributeDefinitions',
    spec: { keySchema: base().keySchema },
    field: 'spec.attributeDefinitions',
  },
  {
    name: 'no attributes',
    spec: { ...base(), attributeDefinitions: [] },
    field: 'spec.attributeDefinitions',
  },
  {
    name: 'attributes given as a string',
    spec: { ...base(), attributeDefinitions: 'pk' },
    field: 'spec.attributeDefinitions',
  },
  {
    name: '51 attributes',
    spec: {
      ...base(),
      attributeDefinitions: [
        { attributeName: 'pk', attributeType: 'S' },
        { attributeName: 'sk', attributeType: 'N' },
        ...many(49, (i) => ({ attributeName: `a${i}`, attributeType: 'S' })),
      ],
    },
    field: 'spec.attributeDefinitions',
  },
  {
    name: 'an attribute type outside S, N, B',
    spec: { ...base(), attributeDefinitions: [{ attributeName: 'pk', attributeType: 'BOOL' }] },
    field: 'spec.attributeDefinitions[0].attributeType',
  },
  {
    name: 'an attribute without a type',
    spec: { ...base(), attributeDefinitions: [{ attributeName: 'pk' }] },
    field: 'spec.attributeDefinitions[0].attributeType',
  },
  {
    name: 'an empty attribute name',
    spec: { ...base(), attributeDefinitions: [{ attributeName: '', attributeType: 'S' }] },
    field: 'spec.attributeDefinitions[0].attributeName',
  },
  {
    name: 'an attribute name of 256 characters',
    spec: {
      attributeDefinitions: [{ attributeName: 'a'.repeat(256), attributeType: 'S' }],
      keySchema: [{ attributeName: 'a'.repeat(256), keyType: 'HASH' }],
    },
    field: 'spec.attributeDefinitions[0].attributeName',
  },
  {
    name: 'a key attribute name of 256 characters',
    spec: {
      attributeDefinitions: [{ attributeName: 'a'.repeat(256), attributeType: 'S' }],
      keySchema: [{ attributeName: 'a'.repeat(256), keyType: 'HASH' }],
    },
    field: 'spec.keySchema[0].attributeName',
  },
  {
    name: 'an attribute defined twice',
    spec: {
      ...base(),
      attributeDefinitions: [
        { attributeName: 'pk', attributeType: 'S' },
        { attributeName: 'sk', attributeType: 'N' },
        { attributeName: 'pk', attributeType: 'N' },
      ],
    },
    field: 'spec.attributeDefinitions[2]',
  },
  {
    name: 'no keySchema',
    spec: { attributeDefinitions: base().attributeDefinitions },
    field: 'spec.keySchema',
  },
  { name: 'an empty keySchema', spec: { ...base(), keySchema: [] }, field: 'spec.keySchema' },
  {
    name: 'three key attributes',
    spec: {
      ...base(),
      keySchema: [
        { attributeName: 'pk', keyType: 'HASH' },
        { attributeName: 'sk', keyType: 'RANGE' },
        { attributeName: 'sk', keyType: 'RANGE' },
      ],
    },
    field: 'spec.keySchema',
  },
  {
    name: 'a RANGE key first',
    spec: { ...base(), keySchema: [{ attributeName: 'sk', keyType: 'RANGE' }] },
    field: 'spec.keySchema',
  },
  {
    name: 'two HASH keys',
    spec: {
      ...base(),
      keySchema: [
        { attributeName: 'pk', keyType: 'HASH' },
        { attributeName: 'sk', keyType: 'HASH' },
      ],
    },
    field: 'spec.keySchema',
  },
  {
    name: 'a key type outside HASH, RANGE',
    spec: {
      ...base(),
      keySchema: [
        { attributeName: 'pk', keyType: 'HASH' },
        { attributeName: 'sk', keyType: 'SORT' },
      ],
    },
    field: 'spec.keySchema[1].keyType',
  },
  {
    name: 'a key without an attribute name',
    spec: { ...base(), keySchema: [{ keyType: 'HASH' }] },
    field: 'spec.keySchema[0].attributeName',
  },
  {
    name: 'a key attribute without a definition',
    spec: { ...base(), keySchema: [{ attributeName: 'id', keyType: 'HASH' }] },
    field: 'spec.keySchema',
  },
  {
    name: 'an unknown billing mode',
    spec: { ...base(), billingMode: 'ON_DEMAND' },
    field: 'spec.billingMode',
  },
  {
    name: 'PROVISIONED without throughput',
    spec: { ...base(), billingMode: 'PROVISIONED' },
    field: 'spec.provisionedThroughput',
  },
  {
    name: 'throughput on demand',
    spec: { ...base(), provisionedThroughput: throughput },
    field: 'spec.provisionedThroughput',
  },
  {
    name: 'throughput given as a number',
    spec: { ...base(), billingMode: 'PROVISIONED', provisionedThroughput: 5 },
    field: 'spec.provisionedThroughput',
  },
  {
    name: 'zero read capacity',
    spec: {
      ...base(),
      ...provisioned,
      provisionedThroughput: { ...throughput, readCapacityUnits: 0 },
    },
    field: 'spec.provisionedThroughput.readCapacityUnits',
  },
  {
    name: 'write capacity above 40000',
    spec: {
      ...base(),
      ...provisioned,
      provisionedThroughput: { ...throughput, writeCapacityUnits: 40_001 },
    },
    field: 'spec.provisionedThroughput.writeCapacityUnits',
  },
  {
    name: 'fractional read capacity',
    spec: {
      ...base(),
      ...provisioned,
      provisionedThroughput: { ...throughput, readCapacityUnits: 1.5 },
    },
    field: 'spec.provisionedThroughput.readCapacityUnits',
  },
  {
    name: 'throughput without write capacity',
    spec: { ...base(), ...provisioned, provisionedThroughput: { readCapacityUnits: 1 } },
    field: 'spec.provisionedThroughput.writeCapacityUnits',
  },
  {
    name: 'a two-character tableName',
    spec: { ...base(), tableName: 'ab' },
    field: 'spec.tableName',
  },
  {
    name: 'a tableName with a space',
    spec: { ...base(), tableName: 'my table' },
    field: 'spec.tableName',
  },
  {
    name: 'a tableName of 256 characters',
    spec: { ...base(), tableName: 't'.repeat(256) },
    field: 'spec.tableName',
  },
  { name: 'a numeric tableName', spec: { ...base(), tableName: 123 }, field: 'spec.tableName' },
  {
    name: 'a two-character name without spec.tableName',
    metadataName: 'ab',
    spec: base(),
    field: 'metadata.name',
  },
  {
    name: 'global indexes given as a mapping',
    spec: { ...base(), globalSecondaryIndexes: gsi('by-sk') },
    field: 'spec.globalSecondaryIndexes',
  },
  {
    name: '21 global indexes',
    spec: { ...base(), globalSecondaryIndexes: many(21, (i) => gsi(`gsi-${i}`)) },
    field: 'spec.globalSecondaryIndexes',
  },
  {
    name: '6 local indexes',
    spec: { ...base(), localSecondaryIndexes: many(6, (i) => lsi(`lsi-${i}`)) },
    field: 'spec.localSecondaryIndexes',
  },
  {
    name: 'a global index given as a string',
    spec: { ...base(), globalSecondaryIndexes: ['by-sk'] },
    field: 'spec.globalSecondaryIndexes[0]',
  },
  {
    name: 'a two-character index name',
    spec: { ...base(), globalSecondaryIndexes: [gsi('ab')] },
    field: 'spec.globalSecondaryIndexes[0].indexName',
  },
  {
    name: 'an index name with a slash',
    spec: { ...base(), localSecondaryIndexes: [lsi('by/pk')] },
    field: 'spec.localSecondaryIndexes[0].indexName',
  },
  {
    name: 'two global indexes of one name',
    spec: { ...base(), globalSecondaryIndexes: [gsi('by-sk'), gsi('by-sk')] },
    field: 'spec.globalSecondaryIndexes[1]',
  },
  {
    name: 'a global index without a key',
    spec: { ...base(), globalSecondaryIndexes: [{ indexName: 'by-sk' }] },
    field: 'spec.globalSecondaryIndexes[0].keySchema',
  },
  {
    name: 'a local index with the RANGE key first',
    spec: {
      ...base(),
      localSecondaryIndexes: [
        lsi('by-sk', {
          keySchema: [
            { attributeName: 'sk', keyType: 'RANGE' },
            { attributeName: 'pk', keyType: 'HASH' },
          ],
        }),
      ],
    },
    field: 'spec.localSecondaryIndexes[0].keySchema',
  },
  {
    name: 'a projection given as a string',
    spec: { ...base(), globalSecondaryIndexes: [gsi('by-sk', { projection: 'ALL' })] },
    field: 'spec.globalSecondaryIndexes[0].projection',
  },
  {
    name: 'an unknown projection type',
    spec: {
      ...base(),
      globalSecondaryIndexes: [gsi('by-sk', { projection: { projectionType: 'SOME' } })],
    },
    field: 'spec.globalSecondaryIndexes[0].projection.projectionType',
  },
  {
    name: '101 projected attributes',
    spec: {
      ...base(),
      globalSecondaryIndexes: [
        gsi('by-sk', {
          projection: { projectionType: 'INCLUDE', nonKeyAttributes: many(101, (i) => `n${i}`) },
        }),
      ],
    },
    field: 'spec.globalSecondaryIndexes[0].projection.nonKeyAttributes',
  },
  {
    name: 'an empty projected attribute name',
    spec: {
      ...base(),
      localSecondaryIndexes: [
        lsi('by-sk', { projection: { projectionType: 'INCLUDE', nonKeyAttributes: ['a', ''] } }),
      ],
    },
    field: 'spec.localSecondaryIndexes[0].projection.nonKeyAttributes[1]',
  },
  {
    name: 'zero index read capacity',
    spec: {
      ...base(),
      ...provisioned,
      globalSecondaryIndexes: [
        gsi('by-sk', { provisionedThroughput: { readCapacityUnits: 0, writeCapacityUnits: 1 } }),
      ],
    },
    field: 'spec.globalSecondaryIndexes[0].provisionedThroughput.readCapacityUnits',
  },
  {
    name: 'deletion protection given as a string',
    spec: { ...base(), deletionProtectionEnabled: 'yes' },
    field: 'spec.deletionProtectionEnabled',
  },
];

// Where the cluster is stricter than the model, and why: `selfless dev` runs on one
// machine and has no object names to fit.
const clusterOnly: (Case & { why: string })[] = [
  {
    name: 'an uppercase name',
    why: 'Kubernetes object names are lowercase DNS names',
    metadataName: 'Users',
    spec: base(),
  },
  {
    name: 'an underscore in the name',
    why: 'Kubernetes object names are lowercase DNS names',
    metadataName: 'user_events',
    spec: base(),
  },
];

/** Whether a parser error names `field` itself or a part of it (the model may be more precise). */
const names = (errorField: string, field: string) =>
  errorField === field || errorField.startsWith(`${field}.`) || errorField.startsWith(`${field}[`);

describe('the Table model and the Table CRD on the API server', () => {
  let custom: k8s.CustomObjectsApi;
  let namespace: string;

  before(async () => {
    const kc = await testKubeConfig();
    await installCrds(kc);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    namespace = await makeNamespace(kc, 'table-model');
  });

  let n = 0;
  const manifest = (c: Case) => ({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Table',
    metadata: { name: c.metadataName ?? `t-${n++}` },
    spec: c.spec,
  });
  /** The object the API server would store, or the message it refuses it with. */
  type Stored = { metadata: { name: string }; spec: Spec & { tableName?: string } };
  const dryRun = async (body: object): Promise<{ stored?: Stored; refused?: string }> => {
    try {
      const stored = (await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: 'tables',
        body,
        dryRun: 'All',
      })) as Stored;
      return { stored };
    } catch (err) {
      assert.ok(err instanceof k8s.ApiException, String(err));
      assert.equal(err.code, 422, String(err.body));
      return { refused: (JSON.parse(String(err.body)) as { message: string }).message };
    }
  };

  for (const c of cases) {
    test(`${c.name}: ${c.field ? `both refuse, naming ${c.field}` : 'both accept, with the same spec'}`, async () => {
      const m = manifest(c);
      const local = parseTableManifest(m);
      const { stored, refused } = await dryRun(m);
      if (!c.field) {
        assert.ok(
          local.ok,
          `parseTableManifest refused: ${JSON.stringify(local)} (the API server: ${refused ?? 'accepted'})`,
        );
        assert.ok(stored, `the API server refused: ${refused}`);
        assert.deepEqual(local.value.spec, stored.spec);
        assert.equal(local.value.tableName, tableNameOf(stored));
        return;
      }
      assert.ok(!local.ok, 'parseTableManifest accepted it');
      assert.ok(
        local.errors.some((e) => names(e.field, c.field!)),
        `parseTableManifest named ${JSON.stringify(local.errors)}`,
      );
      assert.ok(refused !== undefined, 'the API server accepted it');
      assert.ok(refused.includes(`${c.field}:`), `the API server said: ${refused}`);
    });
  }

  for (const c of clusterOnly) {
    test(`${c.name}: accepted by the model, refused by the cluster (${c.why})`, async () => {
      const m = manifest(c);
      const local = parseTableManifest(m);
      assert.ok(local.ok, JSON.stringify(local));
      const { refused } = await dryRun(m);
      assert.match(refused ?? 'accepted', /metadata\.name/);
    });
  }
});
