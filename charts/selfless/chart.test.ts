// The chart: `helm lint` is clean, and what `helm template` renders passes a
// server-side dry-run apply on the real API server (schemas, defaults, admission),
// with the in-chart Redis and Scylla and with external endpoints. Values the schema
// refuses fail at template time with the field named.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import {
  dryRunApply,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../../test/support/kubernetes.ts';
import { testServices } from '../../test/services/index.ts';
import { helmBinary, kubectlBinary } from '../../test/services/local.ts';

const chart = import.meta.dirname;
const run = promisify(execFile);
let kubeconfig: string;
let namespace: string;
let kubeVersion: string;

before(async () => {
  const kc = await testKubeConfig();
  kubeconfig = (await testServices()).kubeconfig;
  await installCrds(kc);
  namespace = await makeNamespace(kc, 'chart');
  // helm template checks kubeVersion against this, not against a default.
  const { stdout } = await run(kubectlBinary(), [
    '--kubeconfig',
    kubeconfig,
    'version',
    '-o',
    'json',
  ]);
  kubeVersion = (JSON.parse(stdout) as { serverVersion: { gitVersion: string } }).serverVersion
    .gitVersion;
});

const external = [
  '--set',
  'redis.enabled=false',
  '--set',
  'redis.external.url=redis://redis.example:6379/0',
  '--set',
  'scylla.enabled=false',
  '--set',
  'scylla.external.contactPoints=scylla-0.example:9042\\,scylla-1.example:9042',
];

async function template(...args: string[]): Promise<string> {
  const { stdout } = await run(
    helmBinary(),
    [
      'template',
      'sl',
      chart,
      '--namespace',
      namespace,
      '--kube-version',
      kubeVersion,
      '--include-crds',
      ...args,
    ],
    { maxBuffer: 16 << 20 },
  );
  return stdout;
}

type Doc = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
const docs = (yaml: string) =>
  parseAllDocuments(yaml)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);

test('helm lint is clean with the default values and with external Redis/Scylla and monitoring', async () => {
  for (const args of [
    [],
    [
      ...external,
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.prometheusRule.enabled=true',
      '--set',
      'metrics.dashboard.enabled=true',
    ],
  ]) {
    const { stdout } = await run(helmBinary(), ['lint', chart, ...args]);
    assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.doesNotMatch(stdout, /\[(WARNING|ERROR)\]/);
  }
});

test('the default install passes a server-side dry run: every object admitted', async () => {
  const yaml = await template();
  const kinds = docs(yaml).map((d) => `${d.kind}/${d.metadata.name}`);
  for (const want of [
    'CustomResourceDefinition/functions.selfless.dev',
    'CustomResourceDefinition/tables.selfless.dev',
    'Deployment/sl-selfless-operator',
    'Deployment/sl-selfless-gateway',
    'Deployment/sl-selfless-tables',
    'HorizontalPodAutoscaler/sl-selfless-gateway',
    'PodDisruptionBudget/sl-selfless-gateway',
    'StatefulSet/sl-selfless-redis',
    'StatefulSet/sl-selfless-scylla',
    'Role/sl-selfless-operator-leader',
    'NetworkPolicy/sl-selfless-redis',
  ]) {
    assert.ok(kinds.includes(want), `${want} missing from ${kinds.join(', ')}`);
  }
  const { code, out } = await dryRunApply(kubeconfig, namespace, yaml);
  assert.equal(code, 0, out);
  assert.match(out, /deployment\.apps\/sl-selfless-operator serverside-applied \(server dry run\)/);
  assert.match(out, /statefulset\.apps\/sl-selfless-redis serverside-applied \(server dry run\)/);
});

test('with external Redis and Scylla: no StatefulSets, the endpoints reach the gateway and the table service', async () => {
  const yaml = await template(...external);
  const all = docs(yaml);
  assert.ok(!all.some((d) => d.kind === 'StatefulSet'), 'no in-chart Redis or Scylla');
  const text = JSON.stringify(all);
  assert.ok(text.includes('redis://redis.example:6379/0'));
  assert.ok(text.includes('--cql-contact-points=scylla-0.example:9042,scylla-1.example:9042'));
  const { code, out } = await dryRunApply(kubeconfig, namespace, yaml);
  assert.equal(code, 0, out);
});

test('with external Redis and Scylla the operator protects both from function workers, and may manage their egress policies', async () => {
  const args = (yaml: string) =>
    docs(yaml)
      .filter((d) => d.kind === 'Deployment' && d.metadata.name === 'sl-selfless-operator')
      .flatMap((d) => JSON.stringify(d).match(/--protect=[^"]*/g) ?? []);
  assert.deepEqual(args(await template(...external)), [
    '--protect=scylla-0.example:9042,scylla-1.example:9042',
    '--protect=redis.example:6379',
  ]);
  // A port the URL or the contact point leaves out is the service's default.
  assert.deepEqual(
    args(
      await template(
        ...external,
        '--set',
        'redis.external.url=rediss://:pw@10.1.2.3/1',
        '--set',
        'scylla.external.contactPoints=10.1.2.4',
      ),
    ),
    ['--protect=10.1.2.4:9042', '--protect=10.1.2.3:6379'],
  );
  // In-chart storage is guarded by its own ingress policies; no policies, no protection.
  assert.deepEqual(args(await template()), []);
  assert.deepEqual(args(await template(...external, '--set', 'networkPolicy.enabled=false')), []);
  const role = docs(await template()).find(
    (d) => d.kind === 'ClusterRole' && d.metadata.name === 'sl-selfless-operator',
  ) as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
  const rule = role.rules.find((r) => r.resources.includes('networkpolicies'));
  assert.deepEqual(rule?.apiGroups, ['networking.k8s.io']);
  assert.ok(rule?.verbs.includes('watch') && rule.verbs.includes('delete'));
});

test("the operator may publish a Function's versions (create them and patch the Function's count) but not create or delete Functions", async () => {
  const role = docs(await template()).find(
    (d) => d.kind === 'ClusterRole' && d.metadata.name === 'sl-selfless-operator',
  ) as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
  const verbs = (resource: string) =>
    role.rules
      .filter((r) => r.apiGroups.includes('selfless.dev') && r.resources.includes(resource))
      .flatMap((r) => r.verbs);
  assert.ok(verbs('functions').includes('patch'));
  assert.ok(verbs('functionversions').includes('create'));
  assert.ok(verbs('functionversions').includes('get'));
  assert.ok(!verbs('functions').includes('create') && !verbs('functions').includes('delete'));
});

test('allowedClients narrows callers of the gateway but still admits function workers in any namespace and the operator', async () => {
  const policy = (yaml: string) =>
    docs(yaml).find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'sl-selfless-gateway')!
      .spec as { ingress: { from?: unknown[] }[] };
  assert.deepEqual(
    policy(await template()).ingress.map((r) => r.from),
    [undefined],
    'no allowedClients: one rule open to all',
  );
  const callers = { namespaceSelector: { matchLabels: { team: 'a' } } };
  const yaml = await template('--set-json', `gateway.allowedClients=[${JSON.stringify(callers)}]`);
  assert.deepEqual(
    policy(yaml).ingress.map((r) => r.from),
    [
      [callers],
      [
        {
          namespaceSelector: {},
          podSelector: {
            matchExpressions: [{ key: 'selfless.dev/function', operator: 'Exists' }],
          },
        },
        {
          namespaceSelector: {},
          podSelector: {
            matchExpressions: [{ key: 'selfless.dev/pool', operator: 'Exists' }],
          },
        },
        {
          podSelector: {
            matchLabels: {
              'app.kubernetes.io/name': 'selfless-operator',
              'app.kubernetes.io/instance': 'sl',
            },
          },
        },
      ],
    ],
  );
  const { code, out } = await dryRunApply(kubeconfig, namespace, yaml);
  assert.equal(code, 0, out);
});

test('the schema refuses external mode without an endpoint, naming the field', async () => {
  const err = (await template('--set', 'scylla.enabled=false').catch((e: unknown) => e)) as {
    stderr: string;
  };
  assert.match(err.stderr, /scylla\/external/);
  const bad = (await template('--set', 'gateway.port=0').catch((e: unknown) => e)) as {
    stderr: string;
  };
  assert.match(bad.stderr, /gateway\/port/);
});

test('monitoring renders a ServiceMonitor, alerts on the platform metrics and a dashboard that parses', async () => {
  const all = docs(
    await template(
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'metrics.prometheusRule.enabled=true',
      '--set',
      'metrics.dashboard.enabled=true',
    ),
  );
  assert.ok(all.some((d) => d.kind === 'ServiceMonitor'));
  const rules = JSON.stringify(all.find((d) => d.kind === 'PrometheusRule'));
  for (const metric of [
    'selfless_function_throttles_total',
    'selfless_function_invocations_total',
    'selfless_async_dead_letters_total',
    'selfless_async_oldest_event_age_seconds',
    'selfless_tables_requests_total',
  ]) {
    assert.ok(rules.includes(metric), `no alert on ${metric}`);
  }
  const dashboard = all.find(
    (d) => d.kind === 'ConfigMap' && d.metadata.name.endsWith('-dashboard'),
  ) as unknown as {
    data: Record<string, string>;
  };
  const json = JSON.parse(dashboard.data['selfless.json']!) as {
    panels: { targets: { expr: string }[] }[];
  };
  const exprs = json.panels.flatMap((p) => p.targets.map((t) => t.expr)).join(' ');
  for (const metric of [
    'selfless_function_invocations_total',
    'selfless_function_throttles_total',
    'selfless_function_duration_seconds',
    'selfless_function_init_duration_seconds',
    // Cold starts: every environment reports its init once; the gateway's own
    // cold-start counter stays empty in a cluster, where it starts no environment.
    'selfless_function_init_duration_seconds_count',
    'selfless_function_concurrent_executions',
    'selfless_async_queue_depth',
    'selfless_tables_request_duration_seconds',
  ]) {
    assert.ok(exprs.includes(metric), `no panel shows ${metric}`);
  }
});

test('the chart ships the same CRDs as crds/', async () => {
  const { readFileSync } = await import('node:fs');
  for (const f of ['function.yaml', 'table.yaml']) {
    assert.equal(
      readFileSync(join(chart, 'crds', f), 'utf8'),
      readFileSync(join(chart, '..', '..', 'crds', f), 'utf8'),
    );
  }
});
