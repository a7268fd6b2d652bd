// The CRDs are generated (no drift), documented field by field, and on the real API
// server they accept and refuse the same Function manifests as parseFunctionManifest.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parseFunctionManifest } from '../lib/function.ts';
import { testServices } from '../test/services/index.ts';
import { kubectlBinary } from '../test/services/local.ts';
import { renderCrds } from './render.ts';
import { CRDS, GROUP, VERSION, type Schema } from './schema.ts';
import { installCrds, makeNamespace, testKubeConfig } from '../test/support/kubernetes.ts';

test('the checked-in CRD YAML (crds/ and the chart) is exactly what `npm run gen:crds` generates', async () => {
  for (const [file, text] of Object.entries(await renderCrds())) {
    for (const dir of ['crds', 'charts/selfless/crds']) {
      const checkedIn = readFileSync(join(import.meta.dirname, '..', dir, file), 'utf8');
      assert.equal(
        checkedIn,
        text,
        `${dir}/${file} differs from crds/schema.ts: run npm run gen:crds`,
      );
    }
  }
});

test('every field of both CRDs has a description, so kubectl explain documents it', () => {
  const missing: string[] = [];
  const walk = (s: Schema, path: string) => {
    if (!s.description?.trim()) missing.push(path);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
    if (s.items) walk(s.items, `${path}[]`);
    if (s.additionalProperties) walk(s.additionalProperties, `${path}{}`);
  };
  for (const crd of Object.values(CRDS)) {
    const spec = crd.spec as {
      names: { kind: string };
      versions: { schema: { openAPIV3Schema: Schema } }[];
    };
    walk(spec.versions[0]!.schema.openAPIV3Schema, spec.names.kind);
  }
  assert.deepEqual(missing, []);
});

type Manifest = { metadata: { name: string }; spec: Record<string, unknown> };

const base = (): Manifest => ({
  metadata: { name: 'fn' },
  spec: {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: { inline: { 'index.mjs': 'export const handler = async () => 1' } },
  },
});

interface Case {
  name: string;
  change: (m: Manifest) => void;
  /** Absent: both accept. Present: both refuse, each naming this field. */
  field?: string;
}

const set =
  (path: string, value: unknown) =>
  (m: Manifest): void => {
    const keys = path.split('.');
    let o = m.spec as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[keys.at(-1)!] = value;
  };

const cases: Case[] = [
  { name: 'a minimal inline Node.js function', change: () => {} },
  {
    name: 'a provided function without a handler',
    change: (m) => {
      m.spec.runtime = 'provided';
      delete m.spec.handler;
    },
  },
  {
    name: 'a Python image function with every optional field',
    change: (m) => {
      Object.assign(m.spec, {
        runtime: 'python3.13',
        handler: 'app.main',
        code: { imageURI: 'registry.example/fn:1' },
        memorySize: 10240,
        timeout: 900,
        ephemeralStorage: { size: 10240 },
        environment: { variables: { TABLE: 'users', A_1: '' } },
        reservedConcurrentExecutions: 5,
        provisionedConcurrentExecutions: 5,
        functionEventInvokeConfig: {
          maximumRetryAttempts: 0,
          maximumEventAgeInSeconds: 60,
          destinationConfig: {
            onFailure: { destination: 'queue:dead' },
            onSuccess: { destination: 'function:audit' },
          },
        },
        triggers: [
          { http: { method: 'get', path: '/users/{id}' } },
          { http: { path: '/files/{key+}' } },
          { schedule: { expression: 'rate(1 hour)', input: { a: [1, 2] } } },
        ],
      });
    },
  },
  {
    name: 'environment of exactly 4096 bytes counted in UTF-8',
    change: set('environment.variables', { A: 'é'.repeat(2047) + 'x' }),
  },
  { name: 'memorySize below 128', change: set('memorySize', 127), field: 'spec.memorySize' },
  { name: 'memorySize above 10240', change: set('memorySize', 10241), field: 'spec.memorySize' },
  { name: 'memorySize not an integer', change: set('memorySize', 128.5), field: 'spec.memorySize' },
  { name: 'memorySize a string', change: set('memorySize', '128'), field: 'spec.memorySize' },
  { name: 'timeout 0', change: set('timeout', 0), field: 'spec.timeout' },
  { name: 'timeout above 900', change: set('timeout', 901), field: 'spec.timeout' },
  {
    name: 'ephemeral storage below 512 MB',
    change: set('ephemeralStorage.size', 511),
    field: 'spec.ephemeralStorage.size',
  },
  { name: 'an unknown runtime', change: set('runtime', 'java17'), field: 'spec.runtime' },
  {
    name: 'a Node.js function without a handler',
    change: (m) => delete m.spec.handler,
    field: 'spec.handler',
  },
  { name: 'a handler without a dot', change: set('handler', 'index'), field: 'spec.handler' },
  { name: 'no code', change: set('code', {}), field: 'spec.code' },
  {
    name: 'two kinds of code',
    change: set('code', { inline: { 'a.js': '' }, imageURI: 'x' }),
    field: 'spec.code',
  },
  {
    name: 'an inline file escaping the function',
    change: set('code.inline', { '../a.js': '' }),
    field: 'spec.code.inline',
  },
  {
    name: 'an absolute inline file name',
    change: set('code.inline', { '/etc/a.js': '' }),
    field: 'spec.code.inline',
  },
  {
    name: 'a zipFile that is not base64',
    change: set('code', { zipFile: 'not base64!' }),
    field: 'spec.code.zipFile',
  },
  {
    name: 'a configMapRef without a name',
    change: set('code', { configMapRef: {} }),
    field: 'spec.code.configMapRef.name',
  },
  {
    name: 'an environment variable name starting with a digit',
    change: set('environment.variables', { '1A': 'x' }),
    field: 'spec.environment.variables',
  },
  {
    name: 'environment of 4097 bytes (2049 characters)',
    change: set('environment.variables', { A: 'é'.repeat(2048) }),
    field: 'spec.environment.variables',
  },
  {
    name: 'negative reserved concurrency',
    change: set('reservedConcurrentExecutions', -1),
    field: 'spec.reservedConcurrentExecutions',
  },
  {
    name: 'provisioned concurrency above the reservation',
    change: (m) =>
      Object.assign(m.spec, {
        reservedConcurrentExecutions: 1,
        provisionedConcurrentExecutions: 2,
      }),
    field: 'spec.provisionedConcurrentExecutions',
  },
  {
    name: 'three retries',
    change: set('functionEventInvokeConfig.maximumRetryAttempts', 3),
    field: 'spec.functionEventInvokeConfig.maximumRetryAttempts',
  },
  {
    name: 'an event age under a minute',
    change: set('functionEventInvokeConfig.maximumEventAgeInSeconds', 59),
    field: 'spec.functionEventInvokeConfig.maximumEventAgeInSeconds',
  },
  {
    name: 'an SQS destination',
    change: set('functionEventInvokeConfig.destinationConfig', {
      onFailure: { destination: 'sqs:q' },
    }),
    field: 'spec.functionEventInvokeConfig.destinationConfig.onFailure.destination',
  },
  {
    name: 'a trigger with both http and schedule',
    change: set('triggers', [{ http: { path: '/' }, schedule: { expression: 'rate(1 hour)' } }]),
    field: 'spec.triggers[0]',
  },
  { name: 'an empty trigger', change: set('triggers', [{}]), field: 'spec.triggers[0]' },
  {
    name: 'an HTTP path without a leading slash',
    change: set('triggers', [{ http: { path: 'users' } }]),
    field: 'spec.triggers[0].http.path',
  },
  {
    name: 'an unclosed path parameter',
    change: set('triggers', [{ http: { path: '/a/{b' } }]),
    field: 'spec.triggers[0].http.path',
  },
  {
    name: 'a greedy path parameter before the last segment',
    change: set('triggers', [{ http: { path: '/files/{key+}/meta' } }]),
    field: 'spec.triggers[0].http.path',
  },
  {
    name: 'rate() with a plural unit for 1',
    change: set('triggers', [{ schedule: { expression: 'rate(1 hours)' } }]),
    field: 'spec.triggers[0].schedule.expression',
  },
  {
    name: 'rate() of zero minutes',
    change: set('triggers', [{ schedule: { expression: 'rate(0 minutes)' } }]),
    field: 'spec.triggers[0].schedule.expression',
  },
  {
    name: 'cron() with five fields',
    change: set('triggers', [{ schedule: { expression: 'cron(0 12 * * ?)' } }]),
    field: 'spec.triggers[0].schedule.expression',
  },
  {
    name: 'valid rate() and cron() schedules',
    change: set('triggers', [
      { schedule: { expression: 'rate(5 minutes)' } },
      { schedule: { expression: 'cron(0 12 * * ? *)' } },
    ]),
  },
  {
    name: 'an unknown HTTP method',
    change: set('triggers', [{ http: { method: 'FETCH', path: '/' } }]),
    field: 'spec.triggers[0].http.method',
  },
  {
    name: 'a schedule that is neither rate() nor cron()',
    change: set('triggers', [{ schedule: { expression: 'every hour' } }]),
    field: 'spec.triggers[0].schedule.expression',
  },
  {
    name: 'a dynamodbStream trigger with every field',
    change: set('triggers', [
      {
        dynamodbStream: {
          table: 'orders',
          startingPosition: 'TRIM_HORIZON',
          batchSize: 10000,
          maximumBatchingWindowInSeconds: 300,
          parallelizationFactor: 10,
          maximumRetryAttempts: -1,
          maximumRecordAgeInSeconds: 60,
          bisectBatchOnFunctionError: true,
          reportBatchItemFailures: true,
          functionResponseTypes: ['ReportBatchItemFailures'],
          filterCriteria: {
            filters: [
              { pattern: '{"eventName": ["INSERT"]}' },
              { pattern: { dynamodb: { Keys: { id: { S: [{ prefix: 'a' }] } } } } },
            ],
          },
          onFailure: { destination: 'queue:orders-dlq' },
          enabled: false,
        },
      },
    ]),
  },
  {
    name: 'a dynamodbStream batchSize of 0',
    change: set('triggers', [{ dynamodbStream: { table: 'orders', batchSize: 0 } }]),
    field: 'spec.triggers[0].dynamodbStream.batchSize',
  },
  {
    name: 'a dynamodbStream maximumRecordAgeInSeconds of 30',
    change: set('triggers', [
      { dynamodbStream: { table: 'orders', maximumRecordAgeInSeconds: 30 } },
    ]),
    field: 'spec.triggers[0].dynamodbStream.maximumRecordAgeInSeconds',
  },
  {
    name: 'a dynamodbStream startingPosition AT_TIMESTAMP',
    change: set('triggers', [
      { dynamodbStream: { table: 'orders', startingPosition: 'AT_TIMESTAMP' } },
    ]),
    field: 'spec.triggers[0].dynamodbStream.startingPosition',
  },
  {
    name: 'a JSON loggingConfig with both levels and a log group',
    change: set('loggingConfig', {
      logFormat: 'JSON',
      applicationLogLevel: 'WARN',
      systemLogLevel: 'DEBUG',
      logGroup: '/teams/orders',
    }),
  },
  { name: 'recursiveLoop Allow', change: set('recursiveLoop', 'Allow') },
  {
    name: 'a recursiveLoop other than Allow or Terminate',
    change: set('recursiveLoop', 'Sometimes'),
    field: 'spec.recursiveLoop',
  },
  {
    name: 'an applicationLogLevel without the JSON log format',
    change: set('loggingConfig', { applicationLogLevel: 'WARN' }),
    field: 'spec.loggingConfig.applicationLogLevel',
  },
  {
    name: 'a systemLogLevel of ERROR (system levels stop at WARN)',
    change: set('loggingConfig', { logFormat: 'JSON', systemLogLevel: 'ERROR' }),
    field: 'spec.loggingConfig.systemLogLevel',
  },
  {
    name: 'a log group with a space',
    change: set('loggingConfig', { logGroup: 'my group' }),
    field: 'spec.loggingConfig.logGroup',
  },
];

// The API server admits these; the operator refuses them (Ready=False InvalidSpec)
// and the gateway does not serve them, because checking cron field values is beyond
// a schema pattern.
const operatorOnly: Case[] = [
  {
    name: 'a cron() minute of 61',
    change: set('triggers', [{ schedule: { expression: 'cron(61 12 * * ? *)' } }]),
    field: 'spec.triggers[0].schedule.expression',
  },
];

// Where the cluster is deliberately stricter than Lambda's own rules, and why.
const clusterOnly: (Case & { why: string })[] = [
  {
    name: 'an underscore in the name',
    why: 'Kubernetes object names are lowercase DNS names',
    change: (m) => (m.metadata.name = 'get_user'),
  },
  {
    name: 'a 64-character name',
    why: 'a Function name labels its workers, and label values stop at 63',
    change: (m) => (m.metadata.name = 'a'.repeat(64)),
  },
  {
    name: 'code from a local directory',
    why: 'a cluster cannot read a directory of the machine that applied the manifest',
    change: set('code', { directory: './src' }),
  },
];

describe('on the API server', () => {
  let custom: k8s.CustomObjectsApi;
  let namespace: string;
  let kubeconfig: string;

  before(async () => {
    const kc = await testKubeConfig();
    kubeconfig = (await testServices()).kubeconfig;
    await installCrds(kc);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    namespace = await makeNamespace(kc, 'crds');
  });

  let n = 0;
  const dryRunCreate = async (
    kind: 'Function' | 'Table',
    m: Manifest,
  ): Promise<string | undefined> => {
    const body = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind,
      ...m,
      metadata: { ...m.metadata, name: m.metadata.name === 'fn' ? `fn-${n++}` : m.metadata.name },
    };
    try {
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: kind === 'Function' ? 'functions' : 'tables',
        body,
        dryRun: 'All',
      });
      return undefined;
    } catch (err) {
      assert.ok(err instanceof k8s.ApiException, String(err));
      assert.equal(err.code, 422, String(err.body));
      return (JSON.parse(String(err.body)) as { message: string }).message;
    }
  };

  for (const c of cases) {
    test(`Function with ${c.name}: ${c.field ? `both refuse, naming ${c.field}` : 'both accept'}`, async () => {
      const m = base();
      c.change(m);
      const local = parseFunctionManifest({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Function',
        ...m,
      });
      const refused = await dryRunCreate('Function', m);
      if (!c.field) {
        assert.ok(local.ok, `parseFunctionManifest refused: ${JSON.stringify(local)}`);
        assert.equal(refused, undefined, `the API server refused: ${refused}`);
        return;
      }
      assert.ok(!local.ok, 'parseFunctionManifest accepted it');
      assert.ok(
        local.errors.some((e) => e.field.startsWith(c.field!)),
        `parseFunctionManifest named ${JSON.stringify(local.errors)}`,
      );
      assert.ok(refused !== undefined, 'the API server accepted it');
      assert.ok(refused.includes(`${c.field}`), `the API server said: ${refused}`);
    });
  }

  for (const c of operatorOnly) {
    test(`Function with ${c.name}: admitted by the API server, refused by the model (operator, gateway)`, async () => {
      const m = base();
      c.change(m);
      const local = parseFunctionManifest({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Function',
        ...m,
      });
      assert.ok(!local.ok && local.errors.some((e) => e.field === c.field), JSON.stringify(local));
      assert.equal(await dryRunCreate('Function', m), undefined);
    });
  }

  for (const c of clusterOnly) {
    test(`Function with ${c.name}: accepted locally, refused by the cluster (${c.why})`, async () => {
      const m = base();
      c.change(m);
      const local = parseFunctionManifest({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Function',
        ...m,
      });
      assert.ok(local.ok, JSON.stringify(local));
      const refused = await dryRunCreate('Function', m).catch((e: unknown) => String(e));
      assert.ok(refused !== undefined, 'the API server accepted it');
    });
  }

  const table = (spec: Record<string, unknown>, name = `t-${n++}`): Manifest => ({
    metadata: { name },
    spec: {
      attributeDefinitions: [
        { attributeName: 'pk', attributeType: 'S' },
        { attributeName: 'sk', attributeType: 'N' },
      ],
      keySchema: [
        { attributeName: 'pk', keyType: 'HASH' },
        { attributeName: 'sk', keyType: 'RANGE' },
      ],
      ...spec,
    },
  });

  const tableCases: { name: string; m: Manifest; message?: RegExp }[] = [
    { name: 'a HASH + RANGE table on demand', m: table({}) },
    {
      name: 'a provisioned table with a GSI',
      m: table({
        billingMode: 'PROVISIONED',
        provisionedThroughput: { readCapacityUnits: 5, writeCapacityUnits: 5 },
        globalSecondaryIndexes: [
          { indexName: 'by-sk', keySchema: [{ attributeName: 'sk', keyType: 'HASH' }] },
        ],
      }),
    },
    {
      name: 'a GSI with a multi-attribute key (2 HASH, then 1 RANGE)',
      m: table({
        globalSecondaryIndexes: [
          {
            indexName: 'by-both',
            keySchema: [
              { attributeName: 'sk', keyType: 'HASH' },
              { attributeName: 'pk', keyType: 'HASH' },
              { attributeName: 'x', keyType: 'RANGE' },
            ],
          },
        ],
        attributeDefinitions: [
          { attributeName: 'pk', attributeType: 'S' },
          { attributeName: 'sk', attributeType: 'N' },
          { attributeName: 'x', attributeType: 'S' },
        ],
      }),
    },
    {
      name: 'a GSI key with a HASH after a RANGE',
      m: table({
        globalSecondaryIndexes: [
          {
            indexName: 'by-both',
            keySchema: [
              { attributeName: 'pk', keyType: 'HASH' },
              { attributeName: 'sk', keyType: 'RANGE' },
              { attributeName: 'pk', keyType: 'HASH' },
            ],
          },
        ],
      }),
      message:
        /spec\.globalSecondaryIndexes\[0\]\.keySchema: Invalid value: .*1 to 4 HASH keys, then at most 4 RANGE keys/,
    },
    {
      name: 'PROVISIONED without throughput',
      m: table({ billingMode: 'PROVISIONED' }),
      message:
        /spec\.provisionedThroughput: Required value: is required when billingMode is PROVISIONED/,
    },
    {
      name: 'throughput on demand',
      m: table({ provisionedThroughput: { readCapacityUnits: 1, writeCapacityUnits: 1 } }),
      message: /spec\.provisionedThroughput: Forbidden/,
    },
    {
      name: 'a RANGE key first',
      m: table({ keySchema: [{ attributeName: 'sk', keyType: 'RANGE' }] }),
      message: /spec\.keySchema: Invalid value: .*HASH key first/,
    },
    {
      name: 'three key attributes',
      m: table({
        keySchema: [
          { attributeName: 'pk', keyType: 'HASH' },
          { attributeName: 'sk', keyType: 'RANGE' },
          { attributeName: 'x', keyType: 'RANGE' },
        ],
      }),
      message: /spec\.keySchema: Too many/,
    },
    {
      name: 'a key attribute without a definition',
      m: table({ keySchema: [{ attributeName: 'id', keyType: 'HASH' }] }),
      message: /spec\.keySchema: Invalid value: .*listed in attributeDefinitions/,
    },
    {
      name: 'an attribute type outside S, N, B',
      m: table({ attributeDefinitions: [{ attributeName: 'pk', attributeType: 'BOOL' }] }),
      message: /spec\.attributeDefinitions\[0\]\.attributeType: Unsupported value/,
    },
    {
      name: 'an attribute defined twice',
      m: table({
        attributeDefinitions: [
          { attributeName: 'pk', attributeType: 'S' },
          { attributeName: 'pk', attributeType: 'N' },
        ],
      }),
      message: /spec\.attributeDefinitions\[1\]: Duplicate value/,
    },
    {
      name: 'a two-character name without tableName',
      m: table({}, 'ab'),
      message: /at least 3 characters/,
    },
  ];
  for (const c of tableCases) {
    test(`Table with ${c.name}: ${c.message ? `refused (${c.message.source})` : 'accepted'}`, async () => {
      const refused = await dryRunCreate('Table', c.m);
      if (!c.message) assert.equal(refused, undefined);
      else assert.match(refused ?? 'accepted', c.message);
    });
  }

  test('a Table key schema cannot change after creation', async () => {
    const m = table({});
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'Table', ...m };
    const p = { group: GROUP, version: VERSION, namespace, plural: 'tables' };
    const created = (await custom.createNamespacedCustomObject({ ...p, body })) as Manifest;
    const changed = {
      ...body,
      metadata: created.metadata,
      spec: { ...m.spec, keySchema: [{ attributeName: 'sk', keyType: 'HASH' }] },
    };
    const err = await custom
      .replaceNamespacedCustomObject({ ...p, name: m.metadata.name, body: changed })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof k8s.ApiException);
    assert.match(String(err.body), /spec\.keySchema: Invalid value: .*is immutable/);
  });

  test('kubectl get prints the runtime, ready and replicas columns and the short names work', async () => {
    const p = { group: GROUP, version: VERSION, namespace, plural: 'functions' };
    await custom.createNamespacedCustomObject({
      ...p,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Function',
        ...base(),
        metadata: { name: 'shown' },
      },
    });
    const kubectl = (...args: string[]) =>
      promisify(execFile)(kubectlBinary(), ['--kubeconfig', kubeconfig, '-n', namespace, ...args]);
    const fns = await kubectl('get', 'fn');
    assert.match(fns.stdout, /NAME\s+RUNTIME\s+READY\s+REPLICAS\s+AGE\nshown\s+nodejs20\.x\s/);
    const tables = await kubectl('get', 'tbl');
    assert.match(tables.stdout, /NAME\s+HASH\s+RANGE\s+STATUS\s+READY\s+AGE\nt-\d+\s+pk\s+sk\s/);
  });
});
