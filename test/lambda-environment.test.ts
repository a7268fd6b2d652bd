// The environment a function sees is the same in every worker shape: a managed-runtime
// pod (the operator's Deployment, its agent run with the pod's arguments and variables),
// an image pod (the agent in --external-runtime mode beside a function container
// started with the pod spec's variables, as the kubelet would) and `selfless dev` (the
// process driver). One function prints its environment in each; every shape must give
// the same set, except the values docs/functions.md names as the shape's own.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { parseFunctionManifest } from '../lib/function.ts';
import { makeWorkerChannelRoutes } from '../lib/worker-channel/server.ts';
import { RUNTIMES_DIR } from '../lib/agent/runtime-process.ts';
import { interpreterFor } from '../lib/agent/interpreters.ts';
import { WorkerHub } from '../gateway/hub.ts';
import { makeAgentConfig } from '../operator/function/config-maps.ts';
import { makeDeployment } from '../operator/function/deployment.ts';
import type { FunctionObject, WorkerConfig } from '../operator/function/function-object.ts';
import { startDev, type DevServer } from '../cli/dev.ts';

const bin = resolve(import.meta.dirname, '../bin/selfless.js');

const manifest = {
  apiVersion: 'selfless.dev/v1alpha1',
  kind: 'Function',
  metadata: { name: 'envfn' },
  spec: {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    memorySize: 256,
    environment: {
      // A reserved name is ignored; `$(...)` and `$$` arrive verbatim.
      variables: { TABLE: 'users', AWS_REGION: 'mars-1', PASSWORD: 'pa$$(word)' },
    },
    code: {
      inline: {
        // The AWS SDK resolves its config files through os.homedir(): it must work,
        // and HOME must be writable.
        'index.mjs': `import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
export const handler = async () => {
  writeFileSync(homedir() + '/.probe', 'ok');
  return { env: process.env, cwd: process.cwd() };
};`,
      },
    },
  },
};

/** What every shape gives this function. */
const SAME = {
  TABLE: 'users',
  PASSWORD: 'pa$$(word)',
  LANG: 'en_US.UTF-8',
  TZ: ':UTC',
  _HANDLER: 'index.handler',
  AWS_LAMBDA_FUNCTION_NAME: 'envfn',
  AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/envfn',
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_SECRET_ACCESS_KEY: 'selfless',
};

/** What a shape decides itself: where things are, and the platform it belongs to. */
interface Shape {
  taskRoot: string;
  tmpDir: string;
  runtimeApi: RegExp | string;
  logStream: RegExp | string;
  platform: Record<string, string>;
  /** The agent starts our runtime (not an image, whose ENV says where its runtime is). */
  managed: boolean;
}

const LAMBDA_STREAM = /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/;
const NODE_RUNTIME = join(RUNTIMES_DIR, 'nodejs');
/** The Node.js a managed nodejs20.x runtime runs on here: the fetched 20.x, else this one. */
const NODE = (await interpreterFor('nodejs20.x')).command;

function expected(s: Shape): Record<string, string | RegExp> {
  return {
    ...SAME,
    ...s.platform,
    LAMBDA_TASK_ROOT: s.taskRoot,
    HOME: s.tmpDir,
    TMPDIR: s.tmpDir,
    AWS_LAMBDA_RUNTIME_API: s.runtimeApi,
    AWS_LAMBDA_LOG_STREAM_NAME: s.logStream,
    ...(s.managed && {
      LAMBDA_RUNTIME_DIR: NODE_RUNTIME,
      PATH: `${dirname(NODE)}:/usr/local/bin:/usr/bin/:/bin:/opt/bin`,
      LD_LIBRARY_PATH: `/lib64:/usr/lib64:${NODE_RUNTIME}:${NODE_RUNTIME}/lib:${s.taskRoot}:${s.taskRoot}/lib:/opt/lib`,
      NODE_PATH: `/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:${s.taskRoot}/node_modules`,
    }),
  };
}

function assertEnvironment(seen: Record<string, string>, want: Record<string, string | RegExp>) {
  assert.deepEqual(Object.keys(seen).sort(), Object.keys(want).sort());
  for (const [name, value] of Object.entries(want)) {
    if (typeof value === 'string') assert.equal(seen[name], value, name);
    else assert.match(seen[name]!, value, name);
  }
}

// The operator's view: the same manifest, applied in a namespace.
const parsed = parseFunctionManifest({
  ...manifest,
  metadata: { ...manifest.metadata, namespace: 'team-a' },
});
assert.ok(parsed.ok);
const fn: FunctionObject = { def: parsed.value, uid: 'uid-1' };
const cfg: WorkerConfig = {
  gatewayUrl: 'http://gw.selfless:8080',
  tablesUrl: 'http://tables.selfless:8000',
  region: 'us-east-1',
  runtimeImages: { 'nodejs20.x': 'rt/node20:1' },
  agentImage: 'selfless:1',
  replicas: 1,
};
const clusterPlatform = {
  AWS_ENDPOINT_URL_LAMBDA: cfg.gatewayUrl,
  AWS_ENDPOINT_URL_DYNAMODB: cfg.tablesUrl,
  AWS_ACCESS_KEY_ID: 'team-a',
};

let root: string;
let hub: WorkerHub;
let server: Server;
let gateway: string;
const children: ChildProcess[] = [];

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'selfless-env-'));
  hub = new WorkerHub();
  const routes = makeWorkerChannelRoutes(hub);
  server = createServer((req, res) => void routes(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  for (const c of children) c.kill('SIGKILL');
  server.closeAllConnections();
  server.close();
  rmSync(root, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** A pod's mounts laid out on this machine. */
function podLayout(name: string) {
  const dir = join(root, name);
  const mounts: Record<string, string> = {
    '/etc/selfless': join(dir, 'etc'),
    '/var/task': join(dir, 'task'),
    '/tmp': join(dir, 'tmp'),
  };
  for (const m of Object.values(mounts)) mkdirSync(m, { recursive: true });
  for (const [k, v] of Object.entries(makeAgentConfig(fn).data!))
    writeFileSync(join(mounts['/etc/selfless']!, k), v);
  // The code: what the code volume projects (inline here), or what the image holds.
  for (const [file, content] of Object.entries(fn.def.spec.code.inline!))
    writeFileSync(join(mounts['/var/task']!, file), content);
  const local = (value: string) => {
    const from = Object.keys(mounts).find((m) => value === m || value.startsWith(`${m}/`));
    return from ? mounts[from] + value.slice(from.length) : value;
  };
  return { mounts, local };
}

/** A container's variables as the kubelet gives them: `$$` and `$(NAME)` expanded, fields resolved. */
function kubeletEnv(c: k8s.V1Container, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.valueFrom) {
      assert.deepEqual(e.valueFrom, { fieldRef: { fieldPath: 'metadata.name' } }, e.name);
      env[e.name] = podName;
      continue;
    }
    env[e.name] = (e.value ?? '').replace(
      /\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
      (m, n?: string) => (n === undefined ? '$' : (env[n] ?? m)),
    );
  }
  return env;
}

function startAgent(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function invokeThroughHub(requestId: string): Promise<{ env: Record<string, string> }> {
  const r = await hub.invoke({
    requestId,
    functionName: 'team-a/envfn',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:envfn',
    payload: Buffer.from('{}'),
    timeoutSeconds: 3,
    logTail: false,
    enqueuedAt: Date.now(),
  });
  assert.equal(r.functionError, undefined, r.payload.toString());
  return JSON.parse(r.payload.toString()) as { env: Record<string, string> };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

test('a managed-runtime worker, an image worker and selfless dev give a function the same environment', async () => {
  // A managed-runtime pod: the worker container's arguments and variables, nothing else.
  {
    const pod = makeDeployment(fn, cfg).spec!.template.spec!;
    const worker = pod.containers.find((c) => c.name === 'worker')!;
    const { mounts, local } = podLayout('managed');
    const args = worker.args!.map((a) => (a.startsWith('http://gw') ? gateway : local(a)));
    const agent = startAgent(args, kubeletEnv(worker, 'fn-envfn-6d4cf-managed'));
    const seen = (await invokeThroughHub('managed-1')).env;
    assertEnvironment(
      seen,
      expected({
        taskRoot: mounts['/var/task']!,
        tmpDir: mounts['/tmp']!,
        runtimeApi: /^127\.0\.0\.1:\d+$/,
        logStream: LAMBDA_STREAM,
        platform: clusterPlatform,
        managed: true,
      }),
    );
    await stop(agent);
  }

  // An image pod: the agent sidecar with its arguments, and the function container
  // (our Node.js runtime playing the image) started with the pod spec's variables.
  {
    const pod = makeDeployment(
      { ...fn, def: { ...fn.def, spec: { ...fn.def.spec, code: { imageURI: 'reg/envfn:1' } } } },
      cfg,
    ).spec!.template.spec!;
    const sidecar = pod.initContainers!.find((c) => c.name === 'agent')!;
    const container = pod.containers.find((c) => c.name === 'function')!;
    const { mounts, local } = podLayout('image');
    // Every container of the pod mounts the same /tmp: HOME and TMPDIR are writable.
    assert.ok(container.volumeMounts!.some((m) => m.mountPath === '/tmp' && !m.readOnly));
    const api = `127.0.0.1:${await freePort()}`;
    const onThisMachine = (a: string) => (a === '127.0.0.1:9001' ? api : local(a));
    const args = [
      ...sidecar.args!.map((a) => (a.startsWith('http://gw') ? gateway : onThisMachine(a))),
      '--liveness-port',
      String(await freePort()),
    ];
    const agent = startAgent(args, kubeletEnv(sidecar, 'fn-envfn-6d4cf-image'));
    const env = Object.fromEntries(
      Object.entries(kubeletEnv(container, 'fn-envfn-6d4cf-image')).map(([k, v]) => [
        k,
        onThisMachine(v),
      ]),
    );
    // It may start before the agent listens and exit: restarted, as the kubelet does.
    let runtime: ChildProcess | undefined;
    let stopped = false;
    const startRuntime = () => {
      if (stopped) return;
      runtime = spawn(process.execPath, [join(NODE_RUNTIME, 'bootstrap.mjs')], {
        cwd: mounts['/var/task'],
        env,
        stdio: 'ignore',
      });
      runtime.once('exit', () => setTimeout(startRuntime, 100));
    };
    startRuntime();
    try {
      const seen = (await invokeThroughHub('image-1')).env;
      assertEnvironment(
        seen,
        expected({
          taskRoot: mounts['/var/task']!,
          tmpDir: mounts['/tmp']!,
          runtimeApi: api,
          logStream: 'fn-envfn-6d4cf-image',
          platform: clusterPlatform,
          managed: false,
        }),
      );
    } finally {
      stopped = true;
      runtime?.kill('SIGKILL');
    }
    await stop(agent);
  }

  // selfless dev: the same manifest from a folder, run by the process driver.
  {
    const dir = join(root, 'dev');
    mkdirSync(dir);
    writeFileSync(join(dir, 'envfn.yaml'), stringify(manifest));
    const dev: DevServer = await startDev({
      dir,
      port: 0,
      host: '127.0.0.1',
      idleTimeoutMs: 60_000,
      accountLimit: 1000,
    });
    try {
      const res = await fetch(`${dev.url}/2015-03-31/functions/envfn/invocations`, {
        method: 'POST',
        body: '{}',
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-amz-function-error'), null);
      const { env: seen, cwd } = (await res.json()) as { env: Record<string, string>; cwd: string };
      // Where the code copy and the environment's /tmp are is the driver's choice.
      const taskRoot = seen.LAMBDA_TASK_ROOT!;
      assert.equal(taskRoot, cwd);
      assert.match(taskRoot, /\/selfless-dev-\w+\/selfless-code-envfn-\w+$/);
      assertEnvironment(seen, {
        ...expected({
          taskRoot,
          tmpDir: seen.TMPDIR!,
          runtimeApi: /^127\.0\.0\.1:\d+$/,
          logStream: LAMBDA_STREAM,
          platform: {
            AWS_ENDPOINT_URL_LAMBDA: dev.url,
            AWS_ENDPOINT_URL_DYNAMODB: dev.url,
            AWS_ACCESS_KEY_ID: 'selfless',
          },
          managed: true,
        }),
        // A call through the gateway always has a trace header (made when the caller
        // sends none), which the runtime hands the function as Lambda's do.
        _X_AMZN_TRACE_ID: /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0/,
      });
      assert.match(seen.TMPDIR!, /\/selfless-dev-\w+\/tmp\/[^/]+$/);
    } finally {
      await dev.close();
    }
  }
});
