// bench/invoke: a no-op function invoked through the gateway (`selfless dev`,
// process driver) against two baselines measured in the same run on this machine
// with autocannon (raw HTTP) in its own process:
//   bare  - a node:http server running the same handler in-process (one exchange);
//   floor - the least a Lambda-style platform can do: a dispatcher handing each
//           call to one of 32 runtime processes (our Node.js bootstrap) over the
//           Runtime API paths (three exchanges), with nothing else.
// The gateway serves the function twice: `noop` with one event per environment
// (Lambda), `noop-many` with perExecutionEnvironmentMaxConcurrency 32 (Lambda
// Managed Instances: 32 events in one Node.js process).
// Then cold starts of Node.js and Python functions against the baseline of
// starting the bare interpreter.
//
//   node --import tsx bench/invoke/run.ts [--duration 10] [--cold 10 (0: none)]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, cold: { type: 'string', default: '10' } },
});
const duration = Number(values.duration);
const coldRuns = Number(values.cold);

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function startChild(
  cmd: string,
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  let out = '';
  return new Promise((ok, fail) => {
    const t = setTimeout(
      () => fail(new Error(`${cmd} ${args.join(' ')}: not ready: ${out}`)),
      // tsx compiles the gateway at start: ~30 s on a loaded 2-core machine.
      120_000,
    );
    const onData = (c: Buffer) => {
      out += c;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(t);
        // From now on its output (the gateway's START/END/REPORT lines) is read and
        // dropped: keeping it would grow a string in this process, on the same cores.
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        ok({ child, match: m });
      }
    };
    child.stdout!.on('data', onData);
  });
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU time the target's process tree spent per call, in microseconds. */
  cpuUs: number;
}

/**
 * CPU time (user + system) of a process and all its descendants, in ms, from
 * /proc: what a call costs in work, which a loaded machine changes far less than
 * the throughput it allows.
 */
function treeCpuMs(pid: number): number {
  let ticks = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(' ').map(Number));
      }
    } catch {
      // gone meanwhile
    }
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

async function load(
  url: string,
  connections: number,
  seconds: number,
  pid?: number,
): Promise<Load> {
  const cpu0 = pid === undefined ? 0 : treeCpuMs(pid);
  const { stdout } = await run(
    join(root, 'node_modules', '.bin', 'autocannon'),
    [
      '--json',
      '-c',
      String(connections),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      '{"n":1}',
      url,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const r = JSON.parse(stdout) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  const cpuMs = pid === undefined ? 0 : treeCpuMs(pid) - cpu0;
  return {
    cpuUs: r.requests.total > 0 ? (1000 * cpuMs) / r.requests.total : 0,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

const fmt = (n: number, d = 2) => n.toFixed(d);

async function main(): Promise<void> {
  const bare = await startChild(
    process.execPath,
    [join(root, 'bench/invoke/bare-server.mjs')],
    /^(\d+)\n/,
  );
  const bareUrl = `http://127.0.0.1:${bare.match[1]}/`;
  const floor = await startChild(
    process.execPath,
    [join(root, 'bench/invoke/floor-server.mjs'), '32'],
    /^(\d+)\n/,
  );
  const floorUrl = `http://127.0.0.1:${floor.match[1]}/`;
  const dev = await startChild(
    process.execPath,
    [
      join(root, 'bin/selfless.js'),
      'dev',
      join(root, 'bench/invoke'),
      '--port',
      '0',
      '--idle-timeout',
      '3600',
    ],
    /on (http:\/\/\S+)/,
  );
  const gwUrl = `${dev.match[1]}/2015-03-31/functions/noop/invocations`;
  const manyUrl = `${dev.match[1]}/2015-03-31/functions/noop-many/invocations`;

  // Warm all four (and start the functions' environments) before measuring.
  await load(bareUrl, 32, 2);
  await load(floorUrl, 32, 2);
  await load(gwUrl, 32, 2);
  await load(manyUrl, 32, 2);

  console.log(`bench/invoke: no-op handler, ${duration} s per run, autocannon raw HTTP POST`);
  console.log(
    'clients  target              req/s     p50 ms   p99 ms   errors   CPU us/call (its processes)',
  );
  const results: Record<number, { bare: Load; floor: Load; gw: Load; many: Load }> = {};
  const row = (c: number, name: string, r: Load) =>
    console.log(
      `${String(c).padStart(7)}  ${name.padEnd(17)}${fmt(r.rps, 0).padStart(9)}  ${fmt(r.p50).padStart(8)} ${fmt(r.p99).padStart(8)}   ${String(r.errors + r.non2xx).padEnd(6)} ${fmt(r.cpuUs, 0).padStart(8)}`,
    );
  for (const c of [1, 32]) {
    const r = {
      bare: await load(bareUrl, c, duration, bare.child.pid),
      floor: await load(floorUrl, c, duration, floor.child.pid),
      gw: await load(gwUrl, c, duration, dev.child.pid),
      many: await load(manyUrl, c, duration, dev.child.pid),
    };
    results[c] = r;
    row(c, 'bare node:http', r.bare);
    row(c, 'floor (3 exch.)', r.floor);
    row(c, 'selfless gateway', r.gw);
    row(c, 'selfless, 32/env', r.many);
  }
  const one = results[1]!;
  // One client keeps one call in flight, so 1/throughput is its mean latency, in
  // finer steps than autocannon's whole-millisecond percentiles.
  const added = 1000 / one.gw.rps - 1000 / one.bare.rps;
  console.log(
    `added latency at 1 client: p50 ${fmt(one.gw.p50 - one.bare.p50)} ms (autocannon, whole ms), mean ${fmt(added, 3)} ms (goal <= 1 ms)`,
  );
  const pct = (a: Load, b: Load) => fmt((100 * a.rps) / b.rps, 1);
  for (const c of [1, 32]) {
    const r = results[c]!;
    console.log(
      `throughput at ${c} client(s): gateway ${pct(r.gw, r.bare)} % of bare, ` +
        `${pct(r.gw, r.floor)} % of the floor (goal >= ${c === 1 ? 90 : 100} %); ` +
        `the floor is ${pct(r.floor, r.bare)} % of bare`,
    );
  }
  for (const c of [1, 32]) {
    const r = results[c]!;
    console.log(
      `CPU per call at ${c} client(s): floor ${fmt(r.floor.cpuUs, 0)} us, gateway ${fmt(r.gw.cpuUs, 0)} us ` +
        `(floor/gateway ${fmt((100 * r.floor.cpuUs) / r.gw.cpuUs, 1)} %), 32/env ${fmt(r.many.cpuUs, 0)} us, bare ${fmt(r.bare.cpuUs, 0)} us`,
    );
  }
  const m = results[32]!;
  console.log(
    `32 clients, 32 events per environment: ${pct(m.many, m.bare)} % of bare (goal >= 35 %), ` +
      `${fmt(m.many.rps / m.gw.rps)}x one event per environment (goal >= 5x)`,
  );
  dev.child.kill('SIGINT');
  bare.child.kill('SIGTERM');
  floor.child.kill('SIGTERM');

  if (coldRuns > 0) await coldStarts();
}

/** Cold start: first invoke of a function no environment exists for yet. */
async function coldStarts(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'selfless-bench-cold-'));
  const docs: string[] = [];
  for (let i = 0; i < coldRuns; i++) {
    docs.push(`apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: cold-node-${i} }
spec: { runtime: nodejs20.x, handler: index.handler, code: { inline: { index.mjs: "export const handler = async () => 1;" } } }`);
    docs.push(`apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: cold-python-${i} }
spec: { runtime: python3.12, handler: app.handler, code: { inline: { app.py: "def handler(event, context):\\n    return 1\\n" } } }`);
  }
  writeFileSync(join(dir, 'cold.yaml'), docs.join('\n---\n'));
  const dev = await startChild(
    process.execPath,
    [join(root, 'bin/selfless.js'), 'dev', dir, '--port', '0'],
    /on (http:\/\/\S+)/,
  );
  const base = dev.match[1]!;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const bareStart = async (cmd: string, args: string[]) => {
    const times: number[] = [];
    for (let i = 0; i < coldRuns; i++) {
      const t0 = performance.now();
      await run(cmd, args);
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  console.log(
    `\ncold start, median of ${coldRuns} (first invoke of a new function, client-observed)`,
  );
  for (const [runtime, bare] of [
    ['node', await bareStart(process.execPath, ['-e', '0'])],
    ['python', await bareStart('python3', ['-c', '0'])],
  ] as const) {
    const total: number[] = [];
    const init: number[] = [];
    for (let i = 0; i < coldRuns; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}/2015-03-31/functions/cold-${runtime}-${i}/invocations`, {
        method: 'POST',
        body: '{}',
        headers: { 'x-amz-log-type': 'Tail' },
      });
      await res.arrayBuffer();
      total.push(performance.now() - t0);
      const log = Buffer.from(res.headers.get('x-amz-log-result') ?? '', 'base64').toString();
      const m = /Init Duration: ([\d.]+) ms/.exec(log);
      if (m) init.push(Number(m[1]));
    }
    console.log(
      `${runtime.padEnd(7)} first invoke ${fmt(median(total), 1)} ms, Init Duration ${fmt(median(init), 1)} ms; ` +
        `bare interpreter start ${fmt(bare, 1)} ms; ratio ${fmt(median(total) / bare)}x (goal <= 150 ms)`,
    );
  }
  dev.child.kill('SIGINT');
  rmSync(dir, { recursive: true, force: true });
}

await main();
