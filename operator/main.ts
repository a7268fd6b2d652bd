// `selfless operator`: campaigns for the leader Lease and, while it leads, runs the
// Function and Table controllers: informers feed the work queues, the demand poller
// feeds Function scaling. A replica that loses the lease stops acting at once.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as k8s from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Logger } from '../lib/log.ts';
import { makeLogger } from '../lib/log.ts';
import { RUNTIMES } from '../lib/function.ts';
import { runtimeInfo, type Runtime } from '../lib/runtimes.ts';
import { GROUP, VERSION } from '../crds/schema.ts';
import { Applier } from './apply.ts';
import { Controller } from './controller.ts';
import { DemandPoller } from './demand.ts';
import { makeEventRecorder } from './events.ts';
import { endpointResolver, parseHostPorts } from './function/egress-policy.ts';
import { makeFunctionReconciler, type FunctionResource } from './function/reconciler.ts';
import { Informer, keyOf, type Obj } from '../lib/kubernetes/informer.ts';
import { CONTENT_SELECTOR } from '../lib/content-ref.ts';
import { collectContent } from './content-gc.ts';
import { FUNCTION_LABEL, MANAGED_SELECTOR, VERSION_LABEL } from './labels.ts';
import { FUNCTION_VERSION_KIND } from '../lib/function-version.ts';
import { LeaderElector } from './leader.ts';
import { makeOperatorMetrics, type OperatorMetrics } from './metrics.ts';
import { makeTableReconciler, type TableResource } from './table/reconciler.ts';
import type { PoolConfig } from './pool/deployment.ts';
import { makePoolReconciler, poolKeysFor } from './pool/reconciler.ts';
import { POOL_LABEL } from '../lib/warm-pool.ts';
import { httpCapacityReader, makeScaler } from './table/scaler.ts';

export interface OperatorOptions {
  kc: k8s.KubeConfig;
  identity: string;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Watch one namespace only; all when undefined. */
  watchNamespace?: string;
  gatewayUrl: string;
  gatewayDemandUrl: string;
  /**
   * Every object is reconciled again this often (default 10 min), to catch what no
   * watch reports: a user's code ConfigMap (configMapRef) edited in place.
   */
  resyncMs?: number;
  tablesUrl: string;
  region: string;
  runtimeImages: Record<string, string>;
  agentImage: string;
  /** The gateway's worker-channel token, handed to workers through a Secret per function. */
  workerToken?: string;
  /** The warm pools (operator/pool/); none when absent. */
  pool?: PoolConfig;
  /** host:port pairs the workers may not reach (external CQL, Redis): egress-policy.ts. */
  protectedEndpoints?: { host: string; port: number }[];
  demandIntervalMs: number;
  scaleDownWindowMs: number;
  maxReplicas: number;
  /** How often the leader deletes content chunks nothing names (content-gc.ts). */
  contentCollectMs?: number;
  /** How long a chunk nothing names yet is kept (its resource may be on its way). */
  contentGraceMs?: number;
  metrics?: OperatorMetrics;
  log?: Logger;
}

export interface RunningOperator {
  metrics: OperatorMetrics;
  readonly isLeader: boolean;
  /** See LeaderElector.nextRound. */
  electionRound(): Promise<void>;
  stop(): Promise<void>;
}

const path = (ns: string | undefined, group: string, version: string, plural: string) =>
  `${group ? `/apis/${group}/${version}` : `/api/${version}`}${ns ? `/namespaces/${ns}` : ''}/${plural}`;

/** Everything that acts; built afresh each time this replica becomes leader. */
function makeActors(opts: OperatorOptions, metrics: OperatorMetrics, log: Logger) {
  const { kc, watchNamespace: ns } = opts;
  const functions = new Informer<FunctionResource>(kc, {
    path: path(ns, GROUP, VERSION, 'functions'),
    log,
  });
  const versions = new Informer<FunctionResource>(kc, {
    path: path(ns, GROUP, VERSION, 'functionversions'),
    log,
  });
  const layerVersions = new Informer<Obj>(kc, {
    path: path(ns, GROUP, VERSION, 'layerversions'),
    log,
  });
  const tables = new Informer<TableResource>(kc, { path: path(ns, GROUP, VERSION, 'tables'), log });
  const deployments = new Informer<k8s.V1Deployment & Obj>(kc, {
    path: path(ns, 'apps', 'v1', 'deployments'),
    labelSelector: MANAGED_SELECTOR,
    log,
  });
  const configMaps = new Informer<k8s.V1ConfigMap & Obj>(kc, {
    path: path(ns, '', 'v1', 'configmaps'),
    labelSelector: MANAGED_SELECTOR,
    log,
  });
  const networkPolicies = new Informer<k8s.V1NetworkPolicy & Obj>(kc, {
    path: path(ns, 'networking.k8s.io', 'v1', 'networkpolicies'),
    labelSelector: MANAGED_SELECTOR,
    log,
  });
  const contentChunks = new Informer<Obj>(kc, {
    path: path(ns, '', 'v1', 'configmaps'),
    labelSelector: CONTENT_SELECTOR,
    metadataOnly: true,
    log,
  });
  const record = makeEventRecorder(kc, 'selfless-operator', log);
  const poller = new DemandPoller({
    gatewayUrl: opts.gatewayDemandUrl,
    intervalMs: opts.demandIntervalMs,
    windowMs: opts.scaleDownWindowMs,
    log,
    onChange: (key) => demandChanged(key),
  });
  const applier = new Applier(kc);
  const protectedEndpoints = endpointResolver(opts.protectedEndpoints ?? []);
  const worker = {
    gatewayUrl: opts.gatewayUrl,
    // The headless Service names every replica: agents pull from all of them.
    agentGatewayUrl: opts.gatewayDemandUrl,
    tablesUrl: opts.tablesUrl,
    region: opts.region,
    runtimeImages: opts.runtimeImages,
    agentImage: opts.agentImage,
    workerToken: opts.workerToken,
  };
  const pool: PoolConfig = opts.pool ?? { sizes: {}, cpuMillis: 1000, memoryMB: 1024 };
  const reconcilerDeps = {
    kc,
    deployments,
    configMaps,
    networkPolicies,
    specializedPods: (key: string) => poller.specializedPods(key),
    ownWorkers: (key: string) => poller.ownWorkers(key),
    applier,
    protectedEndpoints,
    demand: poller.window,
    worker,
    maxReplicas: opts.maxReplicas,
    layerVersions,
    contentChunks,
    record,
    log,
  };
  const fnController = new Controller(
    makeFunctionReconciler({ ...reconcilerDeps, functions, versions }),
    metrics,
    log,
  );
  const versionController = new Controller(
    makeFunctionReconciler({
      ...reconcilerDeps,
      kind: FUNCTION_VERSION_KIND,
      functions: versions,
      owners: functions,
    }),
    metrics,
    log,
  );
  // The gateways report a version's demand as namespace/name:N; its object is name-N.
  const demandChanged = (key: string) => {
    const m = /^(.*):(\d+)$/.exec(key);
    if (m) versionController.queue.add(`${m[1]}-${m[2]}`);
    else fnController.queue.add(key);
  };
  const dynamodb = new DynamoDBClient({
    endpoint: opts.tablesUrl,
    region: opts.region,
    credentials: { accessKeyId: 'selfless-operator', secretAccessKey: 'selfless' },
    maxAttempts: 2,
  });
  const tableController = new Controller(
    makeTableReconciler({
      kc,
      tables,
      dynamodb,
      record,
      log,
      scale: makeScaler({ dynamodb, capacity: httpCapacityReader(opts.tablesUrl) }),
    }),
    metrics,
    log,
  );
  const poolController = new Controller(
    makePoolReconciler({ functions, deployments, applier, protectedEndpoints, worker, pool, log }),
    metrics,
    log,
  );
  const poolsOf = (o: Obj) => {
    for (const key of poolKeysFor(o, pool)) poolController.queue.add(key);
  };
  functions.on((o) => fnController.queue.add(keyOf(o)));
  // A Function's provisioned concurrency configs are its versions' floors.
  functions.on((o) => {
    for (const v of versions.list()) {
      const of = (v as { spec?: { functionName?: unknown } }).spec?.functionName;
      if (v.metadata?.namespace === o.metadata?.namespace && of === o.metadata?.name)
        versionController.queue.add(keyOf(v));
    }
  });
  // A layer version appearing (or going) may unblock or change the functions of its account.
  layerVersions.on((o) => {
    for (const f of functions.list()) {
      if (f.metadata?.namespace === o.metadata?.namespace) fnController.queue.add(keyOf(f));
    }
    for (const v of versions.list()) {
      if (v.metadata?.namespace === o.metadata?.namespace) versionController.queue.add(keyOf(v));
    }
  });
  // A chunk appearing may unblock the functions and versions of its namespace.
  contentChunks.on((o) => {
    for (const f of functions.list()) {
      if (f.metadata?.namespace === o.metadata?.namespace) fnController.queue.add(keyOf(f));
    }
    for (const v of versions.list()) {
      if (v.metadata?.namespace === o.metadata?.namespace) versionController.queue.add(keyOf(v));
    }
  });
  versions.on((o) => {
    versionController.queue.add(keyOf(o));
    // Its Function lists its versions.
    const fn = (o as { spec?: { functionName?: unknown } }).spec?.functionName;
    if (typeof fn === 'string') fnController.queue.add(`${o.metadata!.namespace}/${fn}`);
  });
  functions.on(poolsOf);
  tables.on((o) => tableController.queue.add(keyOf(o)));
  const owner = (o: Obj) => {
    const fn = o.metadata?.labels?.[FUNCTION_LABEL];
    const version = o.metadata?.labels?.[VERSION_LABEL];
    if (fn && version) versionController.queue.add(`${o.metadata!.namespace}/${fn}-${version}`);
    else if (fn) fnController.queue.add(`${o.metadata!.namespace}/${fn}`);
  };
  deployments.on(owner);
  deployments.on((o) => {
    if (o.metadata?.labels?.[POOL_LABEL]) poolsOf(o);
  });
  configMaps.on(owner);
  networkPolicies.on(owner);
  // Another Table resource claiming the same name may win or lose it on any change.
  tables.on((o) => {
    for (const t of tables.list()) if (keyOf(t) !== keyOf(o)) tableController.queue.add(keyOf(t));
  });
  const informers = [
    functions,
    versions,
    layerVersions,
    tables,
    deployments,
    configMaps,
    networkPolicies,
    contentChunks,
  ];
  let resync: NodeJS.Timeout | undefined;
  let collect: NodeJS.Timeout | undefined;
  const collector = {
    chunks: contentChunks,
    referrers: [functions, versions, layerVersions],
    core: kc.makeApiClient(k8s.CoreV1Api),
    now: () => new Date(),
    ...(opts.contentGraceMs !== undefined && { graceMs: opts.contentGraceMs }),
    log,
  };

  return {
    async start() {
      for (const i of informers) i.start();
      // Children first: a Function reconciled before its Deployment is cached would
      // read the server instead, which is correct but slower.
      await Promise.all(informers.map((i) => i.hasSynced()));
      fnController.start();
      versionController.start();
      tableController.start();
      poolController.start();
      poller.start();
      resync = setInterval(() => {
        for (const o of functions.list()) {
          fnController.queue.add(keyOf(o));
          poolsOf(o);
        }
        for (const o of versions.list()) versionController.queue.add(keyOf(o));
        for (const o of tables.list()) tableController.queue.add(keyOf(o));
      }, opts.resyncMs ?? 600_000);
      resync.unref();
      collect = setInterval(() => {
        collectContent(collector).catch((err: unknown) =>
          log.warn('content collection failed', { error: String(err) }),
        );
      }, opts.contentCollectMs ?? 300_000);
      collect.unref();
    },
    async stop() {
      clearInterval(resync);
      clearInterval(collect);
      poller.stop();
      for (const i of informers) i.stop();
      await Promise.all([
        fnController.stop(),
        versionController.stop(),
        tableController.stop(),
        poolController.stop(),
      ]);
      dynamodb.destroy();
    },
  };
}

export function runOperator(opts: OperatorOptions): RunningOperator {
  const log = opts.log ?? makeLogger('operator', { base: { identity: opts.identity } });
  const metrics = opts.metrics ?? makeOperatorMetrics();
  let actors: ReturnType<typeof makeActors> | undefined;
  let chain = Promise.resolve();
  const serially = (fn: () => Promise<void>) => {
    chain = chain
      .then(fn)
      .catch((err: unknown) => log.error('operator transition failed', { error: String(err) }));
  };
  const elector = new LeaderElector(opts.kc, {
    namespace: opts.leaseNamespace,
    name: opts.leaseName,
    identity: opts.identity,
    leaseDurationMs: opts.leaseDurationMs,
    renewDeadlineMs: opts.renewDeadlineMs,
    retryPeriodMs: opts.retryPeriodMs,
    log,
    onStartedLeading: () =>
      serially(async () => {
        metrics.leader.set(1);
        actors = makeActors(opts, metrics, log);
        await actors.start();
      }),
    onStoppedLeading: () =>
      serially(async () => {
        metrics.leader.set(0);
        await actors?.stop();
        actors = undefined;
      }),
  });
  elector.start();
  return {
    metrics,
    get isLeader() {
      return elector.isLeader;
    },
    electionRound: () => elector.nextRound(),
    async stop() {
      await elector.stop();
      await chain;
    },
  };
}

export function defaultRuntimeImages(prefix: string, tag: string): Record<string, string> {
  // The provided.* runtimes share one image: the function brings its own runtime.
  return Object.fromEntries(RUNTIMES.map((r) => [r, `${prefix}${runtimeInfo(r).image}:${tag}`]));
}

const HELP = `Usage: selfless operator [options]

Reconciles Function and Table resources (selfless.dev/v1alpha1).

  --kubeconfig PATH          kubeconfig (default: in-cluster, then $KUBECONFIG)
  --watch-namespace NS       watch one namespace (default: all)
  --lease-namespace NS       namespace of the leader Lease (default: $POD_NAMESPACE or default)
  --lease-name NAME          (default: selfless-operator)
  --gateway-url URL          gateway Service URL for workers (default: http://selfless-gateway:8080)
  --gateway-demand-url URL   gateway headless Service URL: polled for demand, and worker
                             agents pull from every replica behind it (default: --gateway-url)
  --tables-url URL           table service URL (default: http://selfless-tables:8000)
  --region REGION            (default: us-east-1)
  --runtime-image-prefix P   runtime images are P<runtime>:<tag> (default: ghcr.io/selfless/runtime-)
  --image-tag TAG            (default: latest)
  --agent-image IMAGE        control-plane image for the agent beside image functions
  --scale-down-window S      seconds of lower demand before workers are removed (default: 60)
  --max-replicas N           most workers per function (default: 1000)
  --metrics-port PORT        /metrics, /healthz (default: 9090; 0: off)
  --resync S                 reconcile every object again this often (default: 600)
  --protect HOST:PORT[,...]  storage outside the cluster (CQL, Redis) that function workers
                             must not reach: an egress NetworkPolicy beside each function
  --pool RUNTIME=N[,...]     a warm pool of N generic workers of RUNTIME in each namespace
                             with functions it can serve (default: none)
  --pool-cpu MILLICORES      CPU limit of a pool worker (default: 1000)
  --pool-memory MB           memory limit of a pool worker (default: 1024); functions
                             with a larger memorySize + 64 MB are not served from it

Environment: SELFLESS_WORKER_TOKEN, the gateway's worker-channel token, is copied
into a Secret beside each function for its workers.
`;

export async function operatorCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      help: { type: 'boolean', short: 'h' },
      kubeconfig: { type: 'string' },
      'watch-namespace': { type: 'string' },
      'lease-namespace': { type: 'string', default: process.env.POD_NAMESPACE ?? 'default' },
      'lease-name': { type: 'string', default: 'selfless-operator' },
      'gateway-url': { type: 'string', default: 'http://selfless-gateway:8080' },
      'gateway-demand-url': { type: 'string' },
      'tables-url': { type: 'string', default: 'http://selfless-tables:8000' },
      region: { type: 'string', default: 'us-east-1' },
      'runtime-image-prefix': { type: 'string', default: 'ghcr.io/selfless/runtime-' },
      'image-tag': { type: 'string', default: 'latest' },
      'agent-image': { type: 'string' },
      'scale-down-window': { type: 'string', default: '60' },
      'max-replicas': { type: 'string', default: '1000' },
      'metrics-port': { type: 'string', default: '9090' },
      resync: { type: 'string', default: '600' },
      protect: { type: 'string', multiple: true, default: [] },
      pool: { type: 'string', multiple: true, default: [] },
      'pool-cpu': { type: 'string', default: '1000' },
      'pool-memory': { type: 'string', default: '1024' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const pool = parsePoolSizes(values.pool);
  if (typeof pool === 'string') {
    process.stderr.write(`selfless operator: --pool: ${pool}\n`);
    return 2;
  }
  const kc = new k8s.KubeConfig();
  if (values.kubeconfig) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  const tag = values['image-tag'];
  const log = makeLogger('operator');
  const metrics = makeOperatorMetrics({ defaultMetrics: true });
  const server = await serveMetrics(Number(values['metrics-port']), metrics);
  const op = runOperator({
    kc,
    identity: `${hostname()}-${process.pid}`,
    leaseNamespace: values['lease-namespace'],
    leaseName: values['lease-name'],
    watchNamespace: values['watch-namespace'],
    gatewayUrl: values['gateway-url'],
    gatewayDemandUrl: values['gateway-demand-url'] ?? values['gateway-url'],
    tablesUrl: values['tables-url'],
    region: values.region,
    runtimeImages: defaultRuntimeImages(values['runtime-image-prefix'], tag),
    agentImage: values['agent-image'] ?? `ghcr.io/selfless/selfless:${tag}`,
    workerToken: process.env.SELFLESS_WORKER_TOKEN,
    protectedEndpoints: values.protect.flatMap(parseHostPorts),
    pool: {
      sizes: pool,
      cpuMillis: Number(values['pool-cpu']),
      memoryMB: Number(values['pool-memory']),
    },
    demandIntervalMs: 2_000,
    resyncMs: Number(values.resync) * 1000,
    scaleDownWindowMs: Number(values['scale-down-window']) * 1000,
    maxReplicas: Number(values['max-replicas']),
    metrics,
    log,
  });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
  log.info('shutting down');
  await op.stop();
  server?.close();
  return 0;
}

/** `nodejs20.x=2,python3.12=1` (repeatable) -> sizes; a string says what is wrong. */
export function parsePoolSizes(values: string[]): PoolConfig['sizes'] | string {
  const sizes: PoolConfig['sizes'] = {};
  for (const item of values.flatMap((v) => v.split(',')).filter((v) => v.trim() !== '')) {
    const [runtime, n] = item.trim().split('=');
    const size = Number(n);
    if (!RUNTIMES.includes(runtime as Runtime)) return `${item}: unknown runtime ${runtime}`;
    if (!Number.isInteger(size) || size < 0) return `${item}: the size must be a whole number`;
    sizes[runtime as Runtime] = size;
  }
  return sizes;
}

async function serveMetrics(port: number, metrics: OperatorMetrics): Promise<Server | undefined> {
  if (!port) return undefined;
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void metrics.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
      });
    } else if (req.url === '/healthz' || req.url === '/readyz') res.writeHead(200).end('ok');
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(port, r));
  return server;
}
