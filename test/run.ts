// `npm test`: every quality gate in one command. Type check, lint, format check,
// then provision and start the real services the integration tests need, run
// every test (unit and integration) in one node:test run, and stop the services.
//
//   npm test                      # everything
//   npm test -- tables/ lib/x.test.ts   # gates skipped; only tests under these paths
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { containerRuntimeAnswers } from './services/containers.ts';
import {
  missingServices,
  servicesToEnv,
  startTestServices,
  type ServiceName,
} from './services/index.ts';

const root = resolve(import.meta.dirname, '..');
const skipDirs = new Set(['node_modules', '.git', '.scratch', 'fixtures']);

function findTests(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (skipDirs.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (entry.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out.sort();
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  onStdout?: (chunk: string) => void,
): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env,
      stdio: ['inherit', onStdout ? 'pipe' : 'inherit', 'inherit'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      onStdout!(chunk.toString('utf8'));
    });
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
    child.on('error', () => resolvePromise(1));
  });
}

const results: { step: string; ok: boolean; seconds: number }[] = [];

async function step(name: string, fn: () => Promise<number>): Promise<boolean> {
  process.stdout.write(`\n=== ${name}\n`);
  const t0 = Date.now();
  const code = await fn().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    return 1;
  });
  const seconds = (Date.now() - t0) / 1000;
  results.push({ step: name, ok: code === 0, seconds });
  process.stdout.write(`=== ${name}: ${code === 0 ? 'ok' : 'FAILED'} (${seconds.toFixed(1)} s)\n`);
  return code === 0;
}

const E2E_DIR = 'test/e2e/';
// cluster.sh's own test brings a cluster up and takes it down: it runs in the
// end-to-end phase, alone on the machine, before the phase's cluster goes up.
const CLUSTER_LIFECYCLE = 'test/services/cluster.test.ts';
// node:test's --test-timeout also bounds each file's process and kills it when
// exceeded, without running its after() hooks: a cluster test killed so leaves the
// cluster up. Cluster files get an hour; the others five minutes.
const FILE_TIMEOUT_MS = 5 * 60_000;
const CLUSTER_FILE_TIMEOUT_MS = 60 * 60_000;
type Counts = { passed: number; failed: number; skipped: number };

/** One node:test run of `files`; adds its totals to `counts`. */
async function nodeTest(
  files: string[],
  env: NodeJS.ProcessEnv,
  concurrency: number,
  counts: Counts,
  timeoutMs: number,
): Promise<number> {
  // A second reporter keeps the totals for the closing line in a file.
  const countDir = mkdtempSync(join(tmpdir(), 'selfless-counts-'));
  const countFile = join(countDir, 'counts.json');
  const code = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${concurrency}`,
      `--test-timeout=${timeoutMs}`,
      // A failing test that leaves a connection open must not hang the run.
      '--test-force-exit',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'test', 'count-reporter.mjs')}`,
      '--test-reporter-destination=/dev/null',
      ...files,
    ],
    {
      ...env,
      SELFLESS_TEST_COUNTS: countFile,
      // The AWS SDK's notice that its 2027 releases will need Node 22 would
      // otherwise be printed by every test process that loads it.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  );
  try {
    const got = JSON.parse(readFileSync(countFile, 'utf8')) as Counts;
    counts.passed += got.passed;
    counts.failed += got.failed;
    counts.skipped += got.skipped;
  } catch {
    // no test reported anything: the counts stay as they were
  }
  rmSync(countDir, { recursive: true, force: true });
  return code;
}

/** The keys `cluster.sh up` prints last (KUBECONFIG=, GATEWAY_URL=, ...). */
const CLUSTER_KEYS = [
  'KUBECONFIG',
  'GATEWAY_URL',
  'TABLES_URL',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
];

/**
 * The end-to-end phase: images built, cluster.sh's own test (`lifecycle`), the cluster
 * brought up with the chart installed, the e2e files run against it, the cluster taken
 * down. A cluster given in the environment (SELFLESS_E2E_KUBECONFIG,
 * SELFLESS_E2E_GATEWAY_URL, SELFLESS_E2E_TABLES_URL, e.g. kind with `npm run images`
 * loaded) is used as it is and left running, and cluster.sh is not tested.
 */
async function endToEnd(files: string[], lifecycle: string[], counts: Counts): Promise<void> {
  const given = ['KUBECONFIG', 'GATEWAY_URL', 'TABLES_URL'].every(
    (k) => process.env[`SELFLESS_E2E_${k}`],
  );
  const cluster = join(root, 'test/services/cluster.sh');
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (given && files.length === 0) return;
  if (!given) {
    if (
      !(await step('provision (cluster)', () =>
        run('bash', [join(root, 'test/services/provision.sh'), 'cluster']),
      ))
    )
      return;
    if (
      !(await step('images (npm run images)', () =>
        run('bash', [join(root, 'runtime-images/images/build.sh')]),
      ))
    )
      return;
    if (lifecycle.length > 0) {
      await step('cluster.sh test', () =>
        nodeTest(lifecycle, process.env, 1, counts, CLUSTER_FILE_TIMEOUT_MS),
      );
    }
    if (files.length === 0) return;
    let out = '';
    const up = await step('cluster up', () =>
      run('bash', [cluster, 'up'], process.env, (chunk) => (out += chunk)),
    );
    for (const line of out.split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m && CLUSTER_KEYS.includes(m[1]!)) env[`SELFLESS_E2E_${m[1]}`] = m[2];
    }
    if (!up) {
      await step('cluster down', () => run('bash', [cluster, 'down']));
      return;
    }
  }
  await step(`end-to-end tests (${files.length} files)`, () =>
    nodeTest(files, env, 1, counts, CLUSTER_FILE_TIMEOUT_MS),
  );
  if (!given) await step('cluster down', () => run('bash', [cluster, 'down']));
}

const provisionTargets: Record<ServiceName, string[]> = {
  redis: ['redis'],
  cql: ['cql'],
  kube: ['etcd', 'kube'],
};

async function main(): Promise<number> {
  const paths = process.argv.slice(2);
  const bin = (name: string) => join(root, 'node_modules', '.bin', name);

  if (paths.length === 0) {
    await step('type check (tsc)', () => run(bin('tsc'), ['--noEmit', '-p', root]));
    await step('lint (eslint)', () => run(bin('eslint'), ['.']));
    await step('format (prettier --check)', () => run(bin('prettier'), ['--check', '.']));
  }

  const missing = missingServices();
  const local = missing.length > 0 && !(await containerRuntimeAnswers());
  // helm, the official Lambda runtime clients, the AWS CLI, Prometheus (promtool for
  // the chart's alert rules) and the exact runtimes are clients, never containers:
  // always provisioned locally.
  const targets = [
    'helm',
    'ric',
    'awscli',
    'prometheus',
    'runtimes',
    ...(local ? missing.flatMap((s) => provisionTargets[s]) : []),
  ];
  const provisioned = await step(`provision (${targets.join(', ')})`, () =>
    run('bash', [join(root, 'test/services/provision.sh'), ...targets]),
  );

  const tests = findTests(root).filter(
    (t) => paths.length === 0 || paths.some((p) => t.startsWith(relative(root, resolve(p)))),
  );
  // The end-to-end tests run after the others, against a real cluster, one file at a
  // time: the cluster is one node on the same two cores.
  const phase1 = tests.filter((t) => !t.startsWith(E2E_DIR) && t !== CLUSTER_LIFECYCLE);
  const e2e = tests.filter((t) => t.startsWith(E2E_DIR));
  const lifecycle = tests.filter((t) => t === CLUSTER_LIFECYCLE);
  const counts = { passed: 0, failed: 0, skipped: 0 };
  if (provisioned && phase1.length > 0) {
    let running: Awaited<ReturnType<typeof startTestServices>> | undefined;
    const stop = async () => {
      const r = running;
      running = undefined;
      await r?.stop();
    };
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => void stop().then(() => process.exit(130)));
    }
    const started = await step(
      `start services (${missing.join(', ') || 'all from environment'})`,
      async () => {
        running = await startTestServices(process.env, { useContainers: !local });
        return 0;
      },
    );
    if (started && running) {
      const env = { ...process.env, ...servicesToEnv(running.services) };
      await step(`tests (${phase1.length} files)`, async () =>
        nodeTest(phase1, env, Math.max(2, availableParallelism()), counts, FILE_TIMEOUT_MS),
      );
    }
    await step('stop services', async () => {
      await stop();
      return 0;
    });
  }

  if (e2e.length > 0 || lifecycle.length > 0) await endToEnd(e2e, lifecycle, counts);

  process.stdout.write('\n=== summary\n');
  for (const r of results) {
    process.stdout.write(`${r.ok ? 'ok    ' : 'FAILED'} ${r.step} (${r.seconds.toFixed(1)} s)\n`);
  }
  const ok = results.every((r) => r.ok);
  process.stdout.write(
    `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
  );
  return ok ? 0 : 1;
}

process.exitCode = await main();
