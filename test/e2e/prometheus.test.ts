// Debian's Prometheus on the host scrapes the real cluster with the chart's alert rules
// loaded. The Prometheus Operator is not installed here, so the scrape configuration is
// what the operator would generate from the chart's ServiceMonitor (its selector, its
// endpoints, the target labels it sets), derived from the rendered object: every
// Selfless component must be found by it and be up. Debian builds Prometheus without
// Kubernetes discovery, so the test discovers for it: it serves HTTP SD with the labels
// Kubernetes discovery gives (role endpointslice), and the relabelling stays the
// operator's. Throttling then makes the throttling
// alert's expression true, and after some traffic every panel query of the shipped
// Grafana dashboard returns a series. Worker pods export no metrics: the gateway counts
// every invocation.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvokeCommand, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { stringify } from 'yaml';
import {
  panelQueries,
  renderMonitoring,
  type Monitoring,
  type ServiceMonitorSpec,
} from '../support/monitoring.ts';
import { prometheusBinary } from '../services/local.ts';
import {
  freePort,
  startProcess,
  trackWorkDir,
  untrackWorkDir,
  waitUntil,
  type ServiceProcess,
} from '../services/process.ts';
import {
  arnOf,
  deleteNamespace,
  dynamodbClient,
  e2eCluster,
  eventually,
  getJson,
  kubectl,
  lambdaClient,
  makeNamespace,
  readyWorkers,
  waitReady,
  type E2eCluster,
} from './support.ts';

/** A Kubernetes label's name as Prometheus's discovery spells it in its own labels. */
const labelName = (k: string) => k.replace(/[^\w]/g, '_');
const metaLabel = (k: string) => `__meta_kubernetes_service_label_${labelName(k)}`;
const anchoredLiteral = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The scrape jobs the Prometheus Operator generates for a ServiceMonitor: one per
 * endpoint, over the endpoints of the Services its selector matches in its namespace,
 * with the operator's target labels. The interval is the test's own (the chart's 30 s
 * would only make the test wait longer). Targets come from `discover` at `sdUrl`.
 */
function scrapeJobs(
  sm: ServiceMonitorSpec,
  c: E2eCluster,
  sdUrl: string,
): Record<string, unknown>[] {
  const selector = [
    ...Object.entries(sm.selector.matchLabels ?? {}).map(([k, v]) => ({
      source_labels: [metaLabel(k)],
      regex: anchoredLiteral(v),
      action: 'keep',
    })),
    ...(sm.selector.matchExpressions ?? []).map((e) => {
      assert.equal(e.operator, 'In', `selector operator ${e.operator} is not translated here`);
      return {
        source_labels: [metaLabel(e.key)],
        regex: (e.values ?? []).map(anchoredLiteral).join('|'),
        action: 'keep',
      };
    }),
  ];
  return sm.endpoints.map((ep, i) => ({
    job_name: `serviceMonitor/${c.namespace}/${c.release}/${i}`,
    metrics_path: ep.path ?? '/metrics',
    scrape_interval: '2s',
    http_sd_configs: [{ url: sdUrl, refresh_interval: '2s' }],
    relabel_configs: [
      ...selector,
      {
        source_labels: ['__meta_kubernetes_endpointslice_port_name'],
        regex: anchoredLiteral(ep.port),
        action: 'keep',
      },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'service' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      { source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' },
      { source_labels: ['__meta_kubernetes_service_name'], target_label: 'job' },
      { target_label: 'endpoint', replacement: ep.port },
    ],
  }));
}

interface Listed {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // EndpointSlice
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean };
    targetRef?: { kind: string; name: string };
  }[];
  ports?: { name?: string; port: number; protocol?: string }[];
  // Pod
  spec?: { containers?: { name: string; ports?: { containerPort: number }[] }[] };
}

/**
 * What Prometheus's Kubernetes discovery with role endpointslice finds in `namespace`:
 * one target per endpoint address and port, with the __meta_kubernetes_* labels the
 * relabelling reads (the slice's port, its Service's name and labels, the Pod and the
 * container serving the port). Not-ready endpoints are kept, as that discovery keeps them.
 */
async function discover(c: E2eCluster, namespace: string) {
  const { items } = await getJson<{ items: Listed[] }>(c, [
    'endpointslices.discovery.k8s.io,services,pods',
    '-n',
    namespace,
  ]);
  const byName = (kind: string) =>
    new Map(items.filter((i) => i.kind === kind).map((i) => [i.metadata.name, i]));
  const services = byName('Service');
  const pods = byName('Pod');
  const labelsOf = (prefix: string, labels: Record<string, string> = {}) =>
    Object.fromEntries(
      Object.entries(labels).flatMap(([k, v]) => {
        return [
          [`${prefix}_label_${labelName(k)}`, v],
          [`${prefix}_labelpresent_${labelName(k)}`, 'true'],
        ];
      }),
    );
  return items
    .filter((i) => i.kind === 'EndpointSlice')
    .flatMap((slice) => {
      const serviceName = slice.metadata.labels?.['kubernetes.io/service-name'] ?? '';
      const service = services.get(serviceName);
      return (slice.endpoints ?? []).flatMap((e) =>
        (slice.ports ?? []).map((port) => {
          const pod = e.targetRef?.kind === 'Pod' ? pods.get(e.targetRef.name) : undefined;
          const container = pod?.spec?.containers?.find((ct) =>
            ct.ports?.some((p) => p.containerPort === port.port),
          );
          return {
            targets: [`${e.addresses[0]}:${port.port}`],
            labels: {
              __meta_kubernetes_namespace: namespace,
              __meta_kubernetes_endpointslice_name: slice.metadata.name,
              __meta_kubernetes_endpointslice_port_name: port.name ?? '',
              __meta_kubernetes_endpointslice_port_protocol: port.protocol ?? 'TCP',
              __meta_kubernetes_endpointslice_endpoint_conditions_ready: String(
                e.conditions?.ready ?? false,
              ),
              ...(service && {
                __meta_kubernetes_service_name: serviceName,
                ...labelsOf('__meta_kubernetes_service', service.metadata.labels),
              }),
              ...(pod && {
                __meta_kubernetes_pod_name: pod.metadata.name,
                ...labelsOf('__meta_kubernetes_pod', pod.metadata.labels),
              }),
              ...(container && { __meta_kubernetes_pod_container_name: container.name }),
            },
          };
        }),
      );
    });
}

/** Serves `discover` as Prometheus's HTTP service discovery. */
async function serveDiscovery(c: E2eCluster, namespace: string): Promise<Server> {
  const server = createServer((_req, res) => {
    discover(c, namespace).then(
      (groups) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(groups));
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError: string;
  scrapeUrl: string;
}

describe('Prometheus scraping the real cluster', () => {
  let c: E2eCluster;
  let ns: string;
  let dir: string;
  let prometheus: ServiceProcess | undefined;
  let discovery: Server | undefined;
  let url: string;
  let monitoring: Monitoring;

  const fnKey = (name: string) => `${ns}/${name}`;
  const invoke = (name: string, invocationType?: 'Event') =>
    lambdaClient(c).send(
      new InvokeCommand({
        FunctionName: arnOf(c, ns, name),
        Payload: '{}',
        ...(invocationType && { InvocationType: invocationType }),
      }),
    );
  const apply = (name: string, spec: Record<string, unknown>) =>
    kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Function',
        metadata: { name },
        spec: { runtime: 'nodejs20.x', handler: 'index.handler', ...spec },
      }),
    });

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${url}/api/v1/${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error}`);
    return body.data;
  }
  const query = async (expr: string) =>
    (await api<{ result: Sample[] }>(`query?query=${encodeURIComponent(expr)}`)).result;
  const rule = (alert: string) => {
    const found = monitoring.ruleGroups.flatMap((g) => g.rules).find((r) => r.alert === alert);
    assert.ok(found, `the chart has no alert ${alert}`);
    return found;
  };

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-prom');
    // Traffic for the later tests: their workers start while Prometheus comes up.
    await apply('pinned', {
      timeout: 30,
      reservedConcurrentExecutions: 1,
      provisionedConcurrentExecutions: 1,
      code: {
        inline: {
          'index.mjs':
            'export const handler = async () => { await new Promise((r) => setTimeout(r, 3000)); return { ok: true }; };',
        },
      },
    });
    await apply('fails', {
      provisionedConcurrentExecutions: 1,
      functionEventInvokeConfig: { maximumRetryAttempts: 0 },
      code: {
        inline: {
          'index.mjs': "export const handler = async () => { throw new Error('asked to fail'); };",
        },
      },
    });

    monitoring = await renderMonitoring({ release: c.release, namespace: c.namespace });
    discovery = await serveDiscovery(c, c.namespace);
    const sdUrl = `http://127.0.0.1:${(discovery.address() as AddressInfo).port}/`;
    dir = mkdtempSync(join(tmpdir(), 'selfless-prometheus-'));
    trackWorkDir(dir);
    writeFileSync(
      join(dir, 'rules.yaml'),
      stringify({ groups: monitoring.ruleGroups }, { lineWidth: 0 }),
    );
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '2s', evaluation_interval: '2s' },
        rule_files: [join(dir, 'rules.yaml')],
        scrape_configs: scrapeJobs(monitoring.serviceMonitor, c, sdUrl),
      }),
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    prometheus = startProcess(
      'prometheus',
      prometheusBinary(),
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { logDir: dir },
    );
    await waitUntil(prometheus, 'ready', 120_000, async () => (await fetch(`${url}/-/ready`)).ok);
  });

  after(async () => {
    await prometheus?.stop();
    discovery?.close();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
      untrackWorkDir(dir);
    }
    if (ns) await deleteNamespace(c, ns);
  });

  test('every Selfless component is a target found by the ServiceMonitor’s selection, and up; the chart’s rules load and evaluate', async () => {
    const components = ['selfless-gateway', 'selfless-tables', 'selfless-operator'];
    /** Pod name -> component, of the pods a scrape should reach. */
    const running = async () => {
      const pods = await getJson<{
        items: {
          metadata: { name: string; labels: Record<string, string>; deletionTimestamp?: string };
          status: { phase: string };
        }[];
      }>(c, [
        'pods',
        '-n',
        c.namespace,
        '-l',
        `app.kubernetes.io/instance=${c.release},app.kubernetes.io/name in (${components.join(',')})`,
      ]);
      return new Map(
        pods.items
          .filter((p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp)
          .map((p) => [p.metadata.name, p.metadata.labels['app.kubernetes.io/name']!]),
      );
    };
    const pods = await eventually(
      'one target per running gateway, tables and operator pod, every one up',
      async () => {
        const { activeTargets } = await api<{ activeTargets: Target[] }>('targets?state=active');
        const down = activeTargets.filter((t) => t.health !== 'up');
        if (down.length > 0) throw new Error(`targets down: ${JSON.stringify(down)}`);
        const want = await running();
        const scraped = activeTargets.map((t) => t.labels.pod).sort();
        return JSON.stringify(scraped) === JSON.stringify([...want.keys()].sort())
          ? want
          : undefined;
      },
      180_000,
      1_000,
    );
    for (const x of components) {
      assert.ok([...pods.values()].includes(x), `no ${x} pod is scraped`);
    }
    // What each component exports arrives: the cluster-wide queue from the gateway, one
    // leader among the operator replicas, a table request counted by the table service.
    await dynamodbClient(c).send(new ListTablesCommand({}));
    for (const [what, expr] of [
      ['the queue depth', 'selfless_async_queue_depth{state="ready"}'],
      ['one operator leader', 'sum(selfless_operator_leader) == 1'],
      ['a ListTables request', 'selfless_tables_requests_total{action="ListTables"}'],
    ] as const) {
      await eventually(`${what} scraped`, async () =>
        (await query(expr)).length > 0 ? true : undefined,
      );
    }

    const groups = await eventually('every rule evaluated', async () => {
      const got = (
        await api<{
          groups: {
            rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[];
          }[];
        }>('rules')
      ).groups;
      const rules = got.flatMap((g) => g.rules);
      return rules.length > 0 && rules.every((r) => !r.lastEvaluation.startsWith('0001'))
        ? rules
        : undefined;
    });
    assert.deepEqual(
      groups.map((r) => r.name).sort(),
      monitoring.ruleGroups.flatMap((g) => g.rules.map((r) => r.alert)).sort(),
    );
    for (const r of groups) assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
  });

  test('throttling makes the throttling alert’s expression true, and the loaded rule goes pending', async () => {
    await waitReady(c, 'function', 'pinned', ns, ['WorkersAvailable']);
    await eventually('the provisioned worker ready', async () =>
      (await readyWorkers(c, ns, 'pinned')) >= 1 ? true : undefined,
    );
    const { expr } = rule('SelflessFunctionThrottled');
    const reason = 'ReservedFunctionConcurrentInvocationLimitExceeded';
    let throttled = 0;
    // rate() needs a throttle counter to grow between two scrapes of one gateway
    // replica: rounds of concurrent calls until it has, on whichever replicas they land.
    const hit = await eventually(
      'the throttling expression true for the pinned function',
      async () => {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 4 }, () => invoke('pinned')),
        );
        for (const o of outcomes) {
          if (o.status === 'rejected') {
            assert.ok(o.reason instanceof TooManyRequestsException, String(o.reason));
            assert.equal(o.reason.Reason, reason);
            throttled++;
          }
        }
        return (await query(expr)).find(
          (s) => s.metric.function === fnKey('pinned') && s.metric.reason === reason,
        );
      },
      120_000,
      0,
    );
    assert.ok(throttled > 0);
    assert.equal(hit.metric.function, fnKey('pinned'));
    // The rule Prometheus evaluates itself, not only the query: pending for its 10 minutes.
    const state = await eventually('SelflessFunctionThrottled active for pinned', async () => {
      const { alerts } = await api<{
        alerts: { labels: Record<string, string>; state: string }[];
      }>('alerts');
      return alerts.find(
        (a) =>
          a.labels.alertname === 'SelflessFunctionThrottled' &&
          a.labels.function === fnKey('pinned') &&
          a.labels.reason === reason,
      )?.state;
    });
    assert.ok(['pending', 'firing'].includes(state), state);
  });

  test('after some traffic, every panel query of the shipped dashboard returns a series', async () => {
    await waitReady(c, 'function', 'fails', ns, ['WorkersAvailable']);
    // Successes, durations, an init and concurrency come from `pinned` above; here an
    // error, a dead letter (no retries) and table requests.
    const failed = await invoke('fails');
    assert.equal(failed.FunctionError, 'Unhandled');
    assert.equal((await invoke('fails', 'Event')).StatusCode, 202);
    await dynamodbClient(c).send(new ListTablesCommand({}));
    assert.equal((await invoke('pinned')).StatusCode, 200);
    await eventually('the failed event dead-lettered', async () =>
      (await query(`selfless_async_dead_letters_total{function="${fnKey('fails')}"}`)).length > 0
        ? true
        : undefined,
    );

    // The dashboard's $function variable offers these functions...
    const variable = /^label_values\((\w+), *(\w+)\)$/.exec(
      monitoring.dashboard.templating.list.find((v) => v.name === 'function')!.query,
    );
    assert.ok(variable, 'the function variable is a label_values query');
    const offered = await api<string[]>(
      `label/${variable[2]}/values?match[]=${encodeURIComponent(variable[1]!)}`,
    );
    assert.ok(offered.includes(fnKey('pinned')), offered.join(', '));
    assert.ok(offered.includes(fnKey('fails')), offered.join(', '));
    // ...and every panel shows a series with them chosen.
    for (const { panel, expr } of panelQueries(monitoring.dashboard)) {
      const q = expr.replaceAll('$function', `${ns}/.+`);
      await eventually(
        `a series for “${panel}”: ${q}`,
        async () => ((await query(q)).length > 0 ? true : undefined),
        120_000,
        1_000,
      );
    }
  });
});
