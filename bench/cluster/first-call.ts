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

async function main(): Promise<void> {
  await kubectl(['create', 'namespace', ns]);
  const stop = await startPolling();
  const phases = ['scale', 'pod', 'schedule', 'start', 'answer'] as const;
  const rows: Record<string, number>[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const name = `first-${i}`;
      await kubectl(
        ['apply', '-n', ns, '-f', '-'],
        JSON.stringify({
          apiVersion: 'selfless.dev/v1alpha1',
          kind: 'Function',
          metadata: { name },
          spec: {
            runtime: 'nodejs20.x',
            handler: 'index.handler',
            timeout: 60,
            code: { inline: { 'index.mjs': 'export const handler = async () => ({ ok: true });' } },
          },
        }),
      );
      await until(`${name} ScaledToZero`, async () =>
        (await readyReason(name)) === 'ScaledToZero' ? true : undefined,
      );
      const t0 = performance.now();
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: functionArn(region, ns, name), Payload: '{}' }),
      );
      const t1 = performance.now();
      if (out.StatusCode !== 200 || out.FunctionError) {
        throw new Error(`${name}: ${out.StatusCode} ${Buffer.from(out.Payload ?? []).toString()}`);
      }
      const m = seen.get(name) ?? {};
      const row: Record<string, number> = { total: t1 - t0 };
      let prev = t0;
      for (const p of phases) {
        const at = p === 'answer' ? t1 : m[p];
        if (at === undefined) continue;
        row[p] = at - prev;
        prev = at;
      }
      row.init = (await initDuration(name)) ?? NaN;
      rows.push(row);
      progress(
        `${name}: ${fmt(row.total!)} (${phases.map((p) => `${p} ${row[p] === undefined ? '-' : fmt(row[p]!)}`).join(', ')}, init ${Number.isNaN(row.init) ? '-' : fmt(row.init)})`,
      );
      if (i === rounds - 1) break;
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
    console.log(`first call from zero workers, ${rounds} rounds (p50 / max):`);
    for (const k of ['total', ...phases, 'init']) {
      const xs = col(k);
      if (xs.length) console.log(`  ${k.padEnd(8)} ${fmt(p50(xs)).padStart(8)} / ${fmt(max(xs))}`);
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
