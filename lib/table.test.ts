import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createTableInput,
  parseTableManifest,
  parseTableSpec,
  tableNameOf,
  type TableSpec,
} from './table.ts';

const base = {
  attributeDefinitions: [
    { attributeName: 'pk', attributeType: 'S' },
    { attributeName: 'sk', attributeType: 'N' },
  ],
  keySchema: [
    { attributeName: 'pk', keyType: 'HASH' },
    { attributeName: 'sk', keyType: 'RANGE' },
  ],
};
const defaults = { billingMode: 'PAY_PER_REQUEST', deletionProtectionEnabled: true } as const;
const throughput = { readCapacityUnits: 5, writeCapacityUnits: 10 };
const gsi = (indexName: string, extra: Record<string, unknown> = {}) => ({
  indexName,
  keySchema: [{ attributeName: 'sk', keyType: 'HASH' }],
  ...extra,
});
const lsi = (indexName: string, extra: Record<string, unknown> = {}) => ({
  indexName,
  keySchema: [
    { attributeName: 'pk', keyType: 'HASH' },
    { attributeName: 'sk', keyType: 'RANGE' },
  ],
  ...extra,
});
const parsed = (input: Record<string, unknown>): TableSpec => {
  const r = parseTableSpec(input);
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
};

const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

// The spec the parser returns is the spec the API server stores: the CRD's defaults
// filled in, fields it does not know dropped.
const accepted: [string, Record<string, unknown>, TableSpec][] = [
  [
    'a HASH-only table gets the CRD defaults',
    {
      attributeDefinitions: [{ attributeName: 'id', attributeType: 'B' }],
      keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
    },
    {
      attributeDefinitions: [{ attributeName: 'id', attributeType: 'B' }],
      keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
      ...defaults,
    },
  ],
  ['a HASH + RANGE table on demand', base, { ...base, ...defaults } as TableSpec],
  [
    'a provisioned table without deletion protection',
    {
      ...base,
      tableName: 'Users.v2',
      billingMode: 'PROVISIONED',
      provisionedThroughput: throughput,
      deletionProtectionEnabled: false,
    },
    {
      ...base,
      tableName: 'Users.v2',
      billingMode: 'PROVISIONED',
      provisionedThroughput: throughput,
      deletionProtectionEnabled: false,
    } as TableSpec,
  ],
  [
    'an index without a projection projects ALL',
    { ...base, globalSecondaryIndexes: [gsi('by-sk')], localSecondaryIndexes: [lsi('by-pk')] },
    {
      ...base,
      ...defaults,
      globalSecondaryIndexes: [gsi('by-sk', { projection: { projectionType: 'ALL' } })],
      localSecondaryIndexes: [lsi('by-pk', { projection: { projectionType: 'ALL' } })],
    } as TableSpec,
  ],
  [
    'a projection without a type is ALL',
    { ...base, globalSecondaryIndexes: [gsi('by-sk', { projection: {} })] },
    {
      ...base,
      ...defaults,
      globalSecondaryIndexes: [gsi('by-sk', { projection: { projectionType: 'ALL' } })],
    } as TableSpec,
  ],
  [
    'an INCLUDE projection and index throughput are kept',
    {
      ...base,
      billingMode: 'PROVISIONED',
      provisionedThroughput: throughput,
      globalSecondaryIndexes: [
        gsi('by-sk', {
          projection: { projectionType: 'INCLUDE', nonKeyAttributes: ['email'] },
          provisionedThroughput: { readCapacityUnits: 1, writeCapacityUnits: 1 },
        }),
      ],
    },
    {
      ...base,
      billingMode: 'PROVISIONED',
      provisionedThroughput: throughput,
      deletionProtectionEnabled: true,
      globalSecondaryIndexes: [
        gsi('by-sk', {
          projection: { projectionType: 'INCLUDE', nonKeyAttributes: ['email'] },
          provisionedThroughput: { readCapacityUnits: 1, writeCapacityUnits: 1 },
        }),
      ],
    } as TableSpec,
  ],
  [
    'fields left empty in YAML (null) are absent, as on the API server',
    {
      ...base,
      tableName: null,
      billingMode: null,
      provisionedThroughput: null,
      deletionProtectionEnabled: null,
      localSecondaryIndexes: null,
      globalSecondaryIndexes: [gsi('by-sk', { projection: { projectionType: null } })],
    },
    {
      ...base,
      ...defaults,
      globalSecondaryIndexes: [gsi('by-sk', { projection: { projectionType: 'ALL' } })],
    } as TableSpec,
  ],
  [
    'fields the CRD does not know are dropped',
    { ...base, sseSpecification: { enabled: true } },
    { ...base, ...defaults } as TableSpec,
  ],
  [
    'a stream and time to live are kept',
    {
      ...base,
      streamSpecification: { streamEnabled: true, streamViewType: 'NEW_IMAGE' },
      timeToLiveSpecification: { attributeName: 'exp', enabled: true },
    },
    {
      ...base,
      ...defaults,
      streamSpecification: { streamEnabled: true, streamViewType: 'NEW_IMAGE' },
      timeToLiveSpecification: { attributeName: 'exp', enabled: true },
    } as TableSpec,
  ],
  [
    'every limit at its maximum',
    {
      tableName: 't'.repeat(255),
      attributeDefinitions: many(50, (i) => ({
        attributeName: i === 0 ? 'k'.repeat(255) : `a${i}`,
        attributeType: 'S',
      })),
      keySchema: [{ attributeName: 'k'.repeat(255), keyType: 'HASH' }],
      billingMode: 'PROVISIONED',
      provisionedThroughput: { readCapacityUnits: 40_000, writeCapacityUnits: 40_000 },
      globalSecondaryIndexes: many(20, (i) => ({
        indexName: `gsi-${i}`,
        keySchema: [{ attributeName: 'a1', keyType: 'HASH' }],
        projection: {
          projectionType: 'INCLUDE',
          nonKeyAttributes: many(100, (j) => `n${j}`),
        },
      })),
      localSecondaryIndexes: many(5, (i) => ({
        indexName: `lsi-${i}`,
        keySchema: [
          { attributeName: 'k'.repeat(255), keyType: 'HASH' },
          { attributeName: 'a2', keyType: 'RANGE' },
        ],
        projection: { projectionType: 'KEYS_ONLY' },
      })),
    },
    {
      tableName: 't'.repeat(255),
      attributeDefinitions: many(50, (i) => ({
        attributeName: i === 0 ? 'k'.repeat(255) : `a${i}`,
        attributeType: 'S' as const,
      })),
      keySchema: [{ attributeName: 'k'.repeat(255), keyType: 'HASH' }],
      billingMode: 'PROVISIONED',
      provisionedThroughput: { readCapacityUnits: 40_000, writeCapacityUnits: 40_000 },
      globalSecondaryIndexes: many(20, (i) => ({
        indexName: `gsi-${i}`,
        keySchema: [{ attributeName: 'a1', keyType: 'HASH' as const }],
        projection: {
          projectionType: 'INCLUDE' as const,
          nonKeyAttributes: many(100, (j) => `n${j}`),
        },
      })),
      localSecondaryIndexes: many(5, (i) => ({
        indexName: `lsi-${i}`,
        keySchema: [
          { attributeName: 'k'.repeat(255), keyType: 'HASH' as const },
          { attributeName: 'a2', keyType: 'RANGE' as const },
        ],
        projection: { projectionType: 'KEYS_ONLY' as const },
      })),
      deletionProtectionEnabled: true,
    },
  ],
];

for (const [what, input, expected] of accepted) {
  test(`accepted: ${what}`, () => {
    assert.deepEqual(parseTableSpec(input), { ok: true, value: expected });
  });
}

// Each refusal names the field at fault and says what it must be; one spec may
// need several messages, so the message is matched against all of them.
const refused: [string, Record<string, unknown>, string, RegExp][] = [
  ['no attributes', { attributeDefinitions: [] }, 'spec.attributeDefinitions', /at least one/],
  [
    'attributes not a list',
    { attributeDefinitions: 'pk' },
    'spec.attributeDefinitions',
    /at least one/,
  ],
  [
    '51 attributes',
    {
      attributeDefinitions: [
        ...base.attributeDefinitions,
        ...many(49, (i) => ({ attributeName: `a${i}`, attributeType: 'S' })),
      ],
    },
    'spec.attributeDefinitions',
    /^must have at most 50 items$/,
  ],
  [
    'an attribute without a name',
    { attributeDefinitions: [{ attributeType: 'S' }] },
    'spec.attributeDefinitions[0].attributeName',
    /^is required$/,
  ],
  [
    'an attribute that is not a mapping',
    { attributeDefinitions: ['pk'] },
    'spec.attributeDefinitions[0].attributeName',
    /^is required$/,
  ],
  [
    'an attribute name of 256 characters',
    { attributeDefinitions: [{ attributeName: 'a'.repeat(256), attributeType: 'S' }] },
    'spec.attributeDefinitions[0].attributeName',
    /^must be at most 255 characters$/,
  ],
  [
    'an attribute type outside S, N, B',
    { attributeDefinitions: [{ attributeName: 'pk', attributeType: 'BOOL' }] },
    'spec.attributeDefinitions[0].attributeType',
    /^must be S, N or B, got "BOOL"$/,
  ],
  [
    'an attribute defined twice',
    {
      attributeDefinitions: [
        { attributeName: 'pk', attributeType: 'S' },
        { attributeName: 'pk', attributeType: 'N' },
      ],
    },
    'spec.attributeDefinitions[1].attributeName',
    /^pk is listed twice$/,
  ],
  ['no key', { keySchema: [] }, 'spec.keySchema', /one HASH key and at most one RANGE key/],
  [
    'three keys',
    { keySchema: [...base.keySchema, { attributeName: 'x', keyType: 'RANGE' }] },
    'spec.keySchema',
    /one HASH key and at most one RANGE key/,
  ],
  [
    'a RANGE key first',
    { keySchema: [{ attributeName: 'sk', keyType: 'RANGE' }] },
    'spec.keySchema',
    /^must list the HASH key first/,
  ],
  [
    'two HASH keys',
    {
      keySchema: [
        { attributeName: 'pk', keyType: 'HASH' },
        { attributeName: 'sk', keyType: 'HASH' },
      ],
    },
    'spec.keySchema',
    /^must list the HASH key first/,
  ],
  [
    'a required field left empty (null)',
    {
      billingMode: 'PROVISIONED',
      provisionedThroughput: { readCapacityUnits: null, writeCapacityUnits: 1 },
    },
    'spec.provisionedThroughput.readCapacityUnits',
    /^is required$/,
  ],
  [
    'a null attribute definition',
    { attributeDefinitions: [null] },
    'spec.attributeDefinitions[0].attributeName',
    /^is required$/,
  ],
  [
    'a key type outside HASH, RANGE',
    { keySchema: [base.keySchema[0], { attributeName: 'sk', keyType: 'SORT' }] },
    'spec.keySchema[1].keyType',
    /^must be HASH or RANGE, got "SORT"$/,
  ],
  [
    'a key without a name',
    { keySchema: [{ keyType: 'HASH' }] },
    'spec.keySchema[0].attributeName',
    /^is required$/,
  ],
  [
    'a key attribute without a definition',
    { keySchema: [{ attributeName: 'id', keyType: 'HASH' }] },
    'spec.keySchema',
    /^every key attribute must be listed in attributeDefinitions$/,
  ],
  [
    'an unknown billing mode',
    { billingMode: 'ON_DEMAND' },
    'spec.billingMode',
    /^must be PAY_PER_REQUEST or PROVISIONED, got "ON_DEMAND"$/,
  ],
  [
    'PROVISIONED without throughput',
    { billingMode: 'PROVISIONED' },
    'spec.provisionedThroughput',
    /^is required when billingMode is PROVISIONED$/,
  ],
  [
    'throughput on demand',
    { provisionedThroughput: throughput },
    'spec.provisionedThroughput',
    /^must not be set when billingMode is PAY_PER_REQUEST$/,
  ],
  [
    'throughput that is not a mapping',
    { billingMode: 'PROVISIONED', provisionedThroughput: 5 },
    'spec.provisionedThroughput',
    /^must be a mapping$/,
  ],
  [
    'zero read capacity',
    { billingMode: 'PROVISIONED', provisionedThroughput: { ...throughput, readCapacityUnits: 0 } },
    'spec.provisionedThroughput.readCapacityUnits',
    /^must be between 1 and 40000, got 0$/,
  ],
  [
    'write capacity above 40000',
    {
      billingMode: 'PROVISIONED',
      provisionedThroughput: { ...throughput, writeCapacityUnits: 40_001 },
    },
    'spec.provisionedThroughput.writeCapacityUnits',
    /^must be between 1 and 40000, got 40001$/,
  ],
  [
    'fractional capacity',
    {
      billingMode: 'PROVISIONED',
      provisionedThroughput: { ...throughput, readCapacityUnits: 1.5 },
    },
    'spec.provisionedThroughput.readCapacityUnits',
    /^must be an integer, got 1.5$/,
  ],
  [
    'throughput without writes',
    { billingMode: 'PROVISIONED', provisionedThroughput: { readCapacityUnits: 1 } },
    'spec.provisionedThroughput.writeCapacityUnits',
    /^is required$/,
  ],
  ['a two-character table name', { tableName: 'ab' }, 'spec.tableName', /3-255 characters/],
  ['a table name with a space', { tableName: 'my table' }, 'spec.tableName', /\[a-zA-Z0-9_.-\]/],
  ['a 256-character table name', { tableName: 't'.repeat(256) }, 'spec.tableName', /3-255/],
  [
    'indexes that are not a list',
    { globalSecondaryIndexes: gsi('by-sk') },
    'spec.globalSecondaryIndexes',
    /^must be a list$/,
  ],
  [
    '21 global indexes',
    { globalSecondaryIndexes: many(21, (i) => gsi(`gsi-${i}`)) },
    'spec.globalSecondaryIndexes',
    /^must have at most 20 items$/,
  ],
  [
    '6 local indexes',
    { localSecondaryIndexes: many(6, (i) => lsi(`lsi-${i}`)) },
    'spec.localSecondaryIndexes',
    /^must have at most 5 items$/,
  ],
  [
    'an index that is not a mapping',
    { globalSecondaryIndexes: ['by-sk'] },
    'spec.globalSecondaryIndexes[0]',
    /^must be a mapping$/,
  ],
  [
    'a two-character index name',
    { globalSecondaryIndexes: [gsi('ab')] },
    'spec.globalSecondaryIndexes[0].indexName',
    /3-255 characters/,
  ],
  [
    'an index without a name',
    { localSecondaryIndexes: [{ keySchema: base.keySchema }] },
    'spec.localSecondaryIndexes[0].indexName',
    /3-255 characters/,
  ],
  [
    'two indexes of one name',
    { globalSecondaryIndexes: [gsi('by-sk'), gsi('by-sk')] },
    'spec.globalSecondaryIndexes[1].indexName',
    /^by-sk is listed twice$/,
  ],
  [
    'an index without a key',
    { globalSecondaryIndexes: [{ indexName: 'by-sk' }] },
    'spec.globalSecondaryIndexes[0].keySchema',
    /1 to 4 HASH keys/,
  ],
  [
    'an index key with the RANGE key first',
    {
      globalSecondaryIndexes: [
        gsi('by-sk', { keySchema: [{ attributeName: 'sk', keyType: 'RANGE' }] }),
      ],
    },
    'spec.globalSecondaryIndexes[0].keySchema',
    /^must list 1 to 4 HASH keys, then at most 4 RANGE keys$/,
  ],
  ...(
    [
      ['5 HASH keys', [1, 2, 3, 4, 5].map((i) => [`h${i}`, 'HASH'])],
      ['5 RANGE keys', [['h', 'HASH'], ...[1, 2, 3, 4, 5].map((i) => [`r${i}`, 'RANGE'])]],
      [
        'a HASH key after a RANGE key',
        [
          ['a', 'HASH'],
          ['b', 'RANGE'],
          ['c', 'HASH'],
        ],
      ],
    ] as [string, string[][]][]
  ).map(
    ([what, k]) =>
      [
        `a multi-attribute index key of ${what}`,
        {
          globalSecondaryIndexes: [
            gsi('by-sk', {
              keySchema: k.map(([attributeName, keyType]) => ({ attributeName, keyType })),
            }),
          ],
        },
        'spec.globalSecondaryIndexes[0].keySchema',
        /^must list 1 to 4 HASH keys, then at most 4 RANGE keys$/,
      ] as (typeof refused)[number],
  ),
  [
    'a multi-attribute index key naming an attribute twice',
    {
      globalSecondaryIndexes: [
        gsi('by-sk', {
          keySchema: [
            { attributeName: 'sk', keyType: 'HASH' },
            { attributeName: 'sk', keyType: 'HASH' },
          ],
        }),
      ],
    },
    'spec.globalSecondaryIndexes[0].keySchema',
    /^must not list an attribute twice$/,
  ],
  [
    'a local index with two RANGE keys',
    {
      localSecondaryIndexes: [
        lsi('by-x', {
          keySchema: [
            { attributeName: 'pk', keyType: 'HASH' },
            { attributeName: 'sk', keyType: 'RANGE' },
            { attributeName: 'x', keyType: 'RANGE' },
          ],
        }),
      ],
    },
    'spec.localSecondaryIndexes[0].keySchema',
    /^must list one HASH key and at most one RANGE key$/,
  ],
  [
    'a projection that is not a mapping',
    { globalSecondaryIndexes: [gsi('by-sk', { projection: 'ALL' })] },
    'spec.globalSecondaryIndexes[0].projection',
    /^must be a mapping$/,
  ],
  [
    'an unknown projection type',
    { globalSecondaryIndexes: [gsi('by-sk', { projection: { projectionType: 'SOME' } })] },
    'spec.globalSecondaryIndexes[0].projection.projectionType',
    /^must be ALL, KEYS_ONLY or INCLUDE, got "SOME"$/,
  ],
  [
    '101 projected attributes',
    {
      localSecondaryIndexes: [
        lsi('by-sk', {
          projection: { projectionType: 'INCLUDE', nonKeyAttributes: many(101, (i) => `n${i}`) },
        }),
      ],
    },
    'spec.localSecondaryIndexes[0].projection.nonKeyAttributes',
    /^must have at most 100 items$/,
  ],
  [
    'an empty projected attribute name',
    {
      globalSecondaryIndexes: [
        gsi('by-sk', { projection: { projectionType: 'INCLUDE', nonKeyAttributes: ['a', ''] } }),
      ],
    },
    'spec.globalSecondaryIndexes[0].projection.nonKeyAttributes[1]',
    /^is required$/,
  ],
  [
    'index capacity of zero',
    {
      billingMode: 'PROVISIONED',
      provisionedThroughput: throughput,
      globalSecondaryIndexes: [
        gsi('by-sk', { provisionedThroughput: { readCapacityUnits: 0, writeCapacityUnits: 1 } }),
      ],
    },
    'spec.globalSecondaryIndexes[0].provisionedThroughput.readCapacityUnits',
    /^must be between 1 and 40000, got 0$/,
  ],
  [
    'deletion protection as a string',
    { deletionProtectionEnabled: 'yes' },
    'spec.deletionProtectionEnabled',
    /^must be true or false$/,
  ],
];

for (const [what, change, field, message] of refused) {
  test(`refused, naming ${field}: ${what}`, () => {
    const r = parseTableSpec({ ...base, ...change });
    assert.ok(!r.ok, 'refused');
    const named = r.errors.filter((e) => e.field === field);
    assert.ok(named.length > 0, `no error names ${field}: ${JSON.stringify(r.errors)}`);
    assert.ok(
      named.some((e) => message.test(e.message)),
      `${field}: ${named.map((e) => e.message).join('; ')}`,
    );
  });
}

test('a GSI key of up to 4 HASH then up to 4 RANGE attributes is accepted in order', () => {
  const keySchema = [
    ...['h1', 'h2', 'h3', 'h4'].map((attributeName) => ({ attributeName, keyType: 'HASH' })),
    ...['r1', 'r2', 'r3', 'r4'].map((attributeName) => ({ attributeName, keyType: 'RANGE' })),
  ];
  const r = parseTableSpec({ ...base, globalSecondaryIndexes: [gsi('by-h', { keySchema })] });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.value.globalSecondaryIndexes![0]!.keySchema, keySchema);
});

test('every error of a spec is reported at once', () => {
  const r = parseTableSpec({
    attributeDefinitions: [{ attributeName: 'pk', attributeType: 'X' }],
    keySchema: [{ attributeName: 'pk', keyType: 'RANGE' }],
    billingMode: 'PROVISIONED',
  });
  assert.ok(!r.ok);
  assert.deepEqual(
    r.errors.map((e) => e.field),
    ['spec.attributeDefinitions[0].attributeType', 'spec.keySchema', 'spec.provisionedThroughput'],
  );
});

test('a spec that is not a mapping is refused as a whole', () => {
  for (const input of [undefined, null, 'x', []]) {
    const r = parseTableSpec(input);
    assert.deepEqual(r, { ok: false, errors: [{ field: 'spec', message: 'must be a mapping' }] });
  }
});

const manifest = (metadata: Record<string, unknown>, spec: Record<string, unknown> = base) => ({
  apiVersion: 'selfless.dev/v1alpha1',
  kind: 'Table',
  metadata,
  spec,
});

test('a manifest names its table after metadata.name unless spec.tableName is set', () => {
  const cases: [Record<string, unknown>, Record<string, unknown>, object][] = [
    [{ name: 'users' }, base, { name: 'users', namespace: 'default', tableName: 'users' }],
    [
      { name: 'users', namespace: 'shop' },
      { ...base, tableName: 'Users' },
      { name: 'users', namespace: 'shop', tableName: 'Users' },
    ],
    [{ name: 'ab' }, { ...base, tableName: 'abc' }, { name: 'ab', tableName: 'abc' }],
  ];
  for (const [metadata, spec, expected] of cases) {
    const r = parseTableManifest(manifest(metadata, spec));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(
      Object.fromEntries(Object.keys(expected).map((k) => [k, r.value[k as 'name']])),
      expected,
    );
    assert.deepEqual(r.value.spec, parsed(spec));
  }
});

test('a manifest needs the API version, the kind and a name, and reports its spec errors too', () => {
  const r = parseTableManifest({
    apiVersion: 'v1',
    kind: 'Function',
    metadata: {},
    spec: { ...base, billingMode: 'X' },
  });
  assert.ok(!r.ok);
  assert.deepEqual(
    r.errors.map((e) => e.field),
    ['apiVersion', 'kind', 'metadata.name', 'spec.billingMode'],
  );
  assert.deepEqual(parseTableManifest('x'), {
    ok: false,
    errors: [{ field: '', message: 'must be a YAML mapping' }],
  });
});

test('a name too short for a table needs spec.tableName', () => {
  const r = parseTableManifest(manifest({ name: 'ab' }));
  assert.ok(!r.ok);
  assert.deepEqual(r.errors, [
    {
      field: 'metadata.name',
      message: 'a table name needs 3-255 characters of [a-zA-Z0-9_.-]; set spec.tableName',
    },
  ]);
});

test('tableNameOf is spec.tableName, else metadata.name', () => {
  assert.equal(tableNameOf({ metadata: { name: 'users' } }), 'users');
  assert.equal(tableNameOf({ metadata: { name: 'users' }, spec: {} }), 'users');
  assert.equal(tableNameOf({ metadata: { name: 'users' }, spec: { tableName: 'Users' } }), 'Users');
});

const createCases: [string, TableSpec, object][] = [
  [
    'on demand, protected by default',
    { ...base } as TableSpec,
    {
      TableName: 'users',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      DeletionProtectionEnabled: true,
    },
  ],
  [
    'on demand with indexes: no throughput anywhere, projections spelled out',
    parsed({
      ...base,
      deletionProtectionEnabled: false,
      globalSecondaryIndexes: [gsi('by-sk')],
      localSecondaryIndexes: [
        lsi('by-pk', { projection: { projectionType: 'INCLUDE', nonKeyAttributes: ['email'] } }),
      ],
    }),
    {
      TableName: 'users',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      DeletionProtectionEnabled: false,
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-sk',
          KeySchema: [{ AttributeName: 'sk', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      LocalSecondaryIndexes: [
        {
          IndexName: 'by-pk',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['email'] },
        },
      ],
    },
  ],
  [
    "provisioned: an index without its own throughput takes the table's",
    parsed({
      ...base,
      billingMode: 'PROVISIONED',
      provisionedThroughput: throughput,
      globalSecondaryIndexes: [
        gsi('inherits'),
        gsi('own', { provisionedThroughput: { readCapacityUnits: 1, writeCapacityUnits: 2 } }),
      ],
    }),
    {
      TableName: 'users',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PROVISIONED',
      DeletionProtectionEnabled: true,
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 10 },
      GlobalSecondaryIndexes: [
        {
          IndexName: 'inherits',
          KeySchema: [{ AttributeName: 'sk', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
          ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 10 },
        },
        {
          IndexName: 'own',
          KeySchema: [{ AttributeName: 'sk', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 2 },
        },
      ],
    },
  ],
];

for (const [what, spec, expected] of createCases) {
  test(`createTableInput: ${what}`, () => {
    assert.deepEqual(createTableInput(spec, 'users'), expected);
  });
}
