// bench/cluster: the first call to a function with no workers on a real cluster, and
// where its time goes, then warm calls. Each round applies a new Function (no
// workers: Ready reason ScaledToZero), invokes it once through the gateway Service
// with the AWS SDK, and reads the phases off the namespace's Deployments and Pods,
// polled every 100 ms and timed by this process's clock:
//
//   scale      invoke sent -> the worker Deployment asks for a replica (the gateway
//              holds the call, the operator's demand poll sees it and scales)
//   pod        -> the ReplicaSet's pod exists
//   schedule   -> the pod is bound to the node
//   start      -> the worker container runs (sandbox, CNI, the zip's init container)
//   answer     -> the response (agent connects, runtime init, the call itself);
//                 `init` is the runtime's own Init Duration from its REPORT line
//
// Then 20 sequential warm calls. Baseline, in the same run: the gateway's
// ListFunctions through the same Service (the HTTP path without a function).
//
// Where the namespace gets a warm pool of nodejs20.x (chart value pool.sizes), each
// round applies two new functions and calls both at once: the pool's worker serves
// one, the other waits for its own pod, so each round has its baseline beside it.
//
//   bash test/services/cluster.sh up   # then, with its printed lines:
//   SELFLESS_E2E_KUBECONFIG=... SELFLESS_E2E_GATEWAY_URL=... \
//     node --import tsx bench/cluster/first-call.ts [--rounds 10]
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { InvokeCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { functionArn } from '../../lib/names.ts';
import { kubectlBinary } from '../../test/services/local.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '10' }, warm: { type: 'string', default: '20' } },
});
const rounds = Number(values.rounds);
const warmCalls = Number(values.warm);
const kubeconfig = process.env.SELFLESS_E2E_KUBECONFIG;
const gatewayUrl = process.env.SELFLESS_E2E_GATEWAY_URL;
if (!kubeconfig || !gatewayUrl) {
  throw new Error(
    'set SELFLESS_E2E_KUBECONFIG and SELFLESS_E2E_GATEWAY_URL (cluster.sh up prints them)',
  );
}
const exec = promisify(execFile);
const kubectl = async (args: string[], input?: string) => {
  const run = exec(kubectlBinary(), ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 1 << 26 });
  if (input !== undefined) run.child.stdin!.end(input);
  return (await run).stdout;
};
const progress = (msg: string) => process.stderr.write(`[first-call] ${msg}\n`);

const ns = `bench-first-${randomBytes(3).toString('hex')}`;
const region = 'us-east-1';
const lambda = new LambdaClient({
  endpoint: gatewayUrl,
  region,
  credentials: {
    accessKeyId: process.env.SELFLESS_E2E_AWS_ACCESS_KEY_ID ?? 'bench',
    secretAccessKey: process.env.SELFLESS_E2E_AWS_SECRET_ACCESS_KEY ?? 'bench',
  },
  maxAttempts: 1,
});

/** First time (ms, this process's clock) each phase was seen, per function. */
const seen = new Map<string, Record<string, number>>();
const mark = (fn: string | undefined, phase: string) => {
  if (!fn) return;
  const m = seen.get(fn) ?? {};
  m[phase] ??= performance.now();
  seen.set(fn, m);
};
const podNames = new Map<string, string>();

const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);
const FN = 'selfless.dev/function';
const POOL = 'selfless-pool-nodejs20-x';

// Polled every 100 ms rather than watched: this API server answered watches without a
// resource version with 504 "Too large resource version" while loaded. The phases are
// known to within a poll (plus the list's own time).
async function startPolling(): Promise<() => void> {
  let running = true;
  const loop = (async () => {
    while (running) {
      const [deps, pods] = await Promise.all([
        apps.listNamespacedDeployment({ namespace: ns }),
        core.listNamespacedPod({ namespace: ns }),
      ]).catch(() => [undefined, undefined] as const);
      for (const d of deps?.items ?? []) {
        const fn = d.spec?.template.metadata?.labels?.[FN];
        if ((d.spec?.replicas ?? 0) >= 1) mark(fn, 'scale');
      }
      for (const p of pods?.items ?? []) {
        const fn = p.metadata?.labels?.[FN];
        if (!fn) continue;
        mark(fn, 'pod');
        podNames.set(fn, podNames.get(fn) ?? p.metadata!.name!);
        if (p.spec?.nodeName) mark(fn, 'schedule');
        if (p.status?.containerStatuses?.some((s) => s.state?.running)) mark(fn, 'start');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return () => {
    running = false;
    void loop;
  };
}

async function readyReason(name: string): Promise<string | undefined> {
  const obj = JSON.parse(
    await kubectl(['get', 'functions.selfless.dev', name, '-n', ns, '-o', 'json']),
  ) as {
    status?: { conditions?: { type: string; reason: string }[] };
  };
  return obj.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 300_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function initDuration(fn: string): Promise<number | undefined> {
  const pod = podNames.get(fn);
  if (!pod) return undefined;
  const logs = await until(
    'REPORT line',
    async () => {
      const out = await kubectl(['logs', pod, '-n', ns, '--all-containers']);
      return /REPORT RequestId/.test(out) ? out : undefined;
    },
    30_000,
  ).catch(() => '');
  const m = /Init Duration: ([\d.]+) ms/.exec(logs);
  return m ? Number(m[1]) : undefined;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const max = (xs: number[]) => Math.max(...xs);
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const fnBody = (name: string) =>
  JSON.stringify({
    apiVersion: 'selfless.dev/v1alpha1',
    kind: 'Function',
    metadata: { name },
    spec: {
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      timeout: 60,
      code: {
        inline: {
          'index.mjs':
            "import { hostname } from 'node:os';\nexport const handler = async () => ({ host: hostname() });",
        },
      },
    },
  });

/** The namespace's warm pool of nodejs20.x, if the chart gives it one: ready workers. */
async function poolReady(): Promise<number | undefined> {
  const d = await apps
    .readNamespacedDeployment({ namespace: ns, name: POOL })
    .catch(() => undefined);
  return d && (d.status?.readyReplicas ?? 0);
}

/** The call's time from t0, and whether a pool's pod answered (the handler names its host). */
async function invokeTimed(name: string, t0: number): Promise<[number, boolean]> {
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: functionArn(region, ns, name), Payload: '{}' }),
  );
  const ms = performance.now() - t0;
  const body = Buffer.from(out.Payload ?? []).toString();
  if (out.StatusCode !== 200 || out.FunctionError) {
    throw new Error(`${name}: ${out.StatusCode} ${body}`);
  }
  return [ms, (JSON.parse(body) as { host: string }).host.startsWith(POOL)];
}

async function main(): Promise<void> {
  await kubectl(['create', 'namespace', ns]);
  const stop = await startPolling();
  const phases = ['scale', 'pod', 'schedule', 'start', 'answer'] as const;
  const rows: Record<string, number>[] = [];
  const pooled: number[] = [];
  try {
    // A function never called keeps the namespace's pool (if any) between rounds.
    await kubectl(['apply', '-n', ns, '-f', '-'], fnBody('anchor'));
    const pool = await until(
      'the warm pool',
      async () => ((await poolReady()) ?? 0) > 0 || undefined,
      120_000,
    )
      .then(() => true)
      .catch(() => false);
    progress(
      pool
        ? 'warm pool: each round calls two new functions at once, one served from the pool'
        : 'no warm pool in this namespace',
    );
    for (let i = 0; i < rounds; i++) {
      const cold = `first-${i}`;
      const names = pool ? [cold, `pooled-${i}`] : [cold];
      if (pool)
        await until('a ready pool worker', async () => ((await poolReady()) ?? 0) > 0 || undefined);
      for (const name of names) await kubectl(['apply', '-n', ns, '-f', '-'], fnBody(name));
      for (const name of names)
        await until(`${name} ScaledToZero`, async () =>
          (await readyReason(name)) === 'ScaledToZero' ? true : undefined,
        );
      const t0 = performance.now();
      const answers = await Promise.all(names.map((n) => invokeTimed(n, t0)));
      const totals = answers.map(([ms]) => ms);
      const specialized = answers.map(([, fromPool]) => fromPool);
      let coldName = names[0]!;
      const fromPool: string[] = [];
      for (const [j, n] of names.entries()) {
        if (!specialized[j]) coldName = n;
        else {
          pooled.push(totals[j]!);
          fromPool.push(`${n} ${fmt(totals[j]!)}`);
        }
      }
      const t1 = t0 + totals[names.indexOf(coldName)]!;
      const m = seen.get(coldName) ?? {};
      const row: Record<string, number> = { total: t1 - t0 };
      let prev = t0;
      for (const p of phases) {
        const at = p === 'answer' ? t1 : m[p];
        if (at === undefined) continue;
        row[p] = at - prev;
        prev = at;
      }
      row.init = (await initDuration(coldName)) ?? NaN;
      rows.push(row);
      progress(
        `${coldName}: ${fmt(row.total!)} (${phases.map((p) => `${p} ${row[p] === undefined ? '-' : fmt(row[p]!)}`).join(', ')}, init ${Number.isNaN(row.init) ? '-' : fmt(row.init)})` +
          (pool ? `; from the pool: ${fromPool.join(', ') || 'none'}` : ''),
      );
      if (i === rounds - 1) break;
      for (const name of names)
        await kubectl(['delete', 'functions.selfless.dev', name, '-n', ns, '--wait=true']);
    }

    const last = `first-${rounds - 1}`;
    const warm: number[] = [];
    for (let i = 0; i < warmCalls; i++) {
      warm.push(
        await timed(() =>
          lambda.send(
            new InvokeCommand({ FunctionName: functionArn(region, ns, last), Payload: '{}' }),
          ),
        ),
      );
    }
    const base: number[] = [];
    for (let i = 0; i < warmCalls; i++)
      base.push(await timed(() => lambda.send(new ListFunctionsCommand({}))));

    const col = (k: string) =>
      rows.map((r) => r[k]).filter((v): v is number => v !== undefined && !Number.isNaN(v));
    console.log(`first call from zero workers, no pool worker, ${rows.length} rounds (p50 / max):`);
    for (const k of ['total', ...phases, 'init']) {
      const xs = col(k);
      if (xs.length) console.log(`  ${k.padEnd(8)} ${fmt(p50(xs)).padStart(8)} / ${fmt(max(xs))}`);
    }
    if (pooled.length > 0) {
      console.log(
        `first call from zero workers, served by a pool worker, ${pooled.length} calls: p50 ${fmt(p50(pooled))} / max ${fmt(max(pooled))}; ratio to the call without one in the same rounds (p50): ${(p50(pooled) / p50(col('total'))).toFixed(3)}`,
      );
    }
    console.log(
      `warm Invoke p50 ${p50(warm).toFixed(1)} ms (max ${max(warm).toFixed(1)}), baseline ListFunctions p50 ${p50(base).toFixed(1)} ms: ratio ${(p50(warm) / p50(base)).toFixed(2)}x`,
    );
    console.log(`first call / warm call (p50): ${(p50(col('total')) / p50(warm)).toFixed(0)}x`);
  } finally {
    stop();
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  }
}

await main();
