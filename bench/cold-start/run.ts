// Cold start of a fresh Agent, per runtime: the first invocation's latency (from
// `new Agent` to its result, as the gateway's process driver sees it) and the
// Init Duration the agent reports, against the named baseline of starting the bare
// interpreter to exit (`node -e 0`, `python3 -c pass`) in the same run.
//
//   node --import tsx runtime-images/agent/bench-cold-start.ts [rounds]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFunctionSpec } from '../../lib/function.ts';
import { Agent } from '../../lib/agent/agent.ts';
import { resolvePython } from '../../lib/agent/runtime-process.ts';
import { QueueChannel } from '../../test/support/queue-channel.ts';

const rounds = Number(process.argv[2] ?? 15);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function coldStart(runtime: string, handler: string, file: string, code: string) {
  const root = mkdtempSync(join(tmpdir(), 'selfless-bench-'));
  writeFileSync(join(root, file), code);
  const spec = parseFunctionSpec({ runtime, handler, code: { directory: root } });
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  const first: number[] = [];
  const init: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const channel = new QueueChannel('bench');
    const t0 = performance.now();
    const agent = new Agent({
      channel,
      worker: { workerId: `w${i}`, functionName: 'bench' },
      fn: { name: 'bench', namespace: 'default', spec: spec.value },
      codeDir: root,
      tmpDir: join(root, `tmp${i}`),
      env: {},
      log: () => {},
    });
    await agent.start();
    const r = await channel.invoke({});
    first.push(performance.now() - t0);
    init.push(r.initDurationMs!);
    await agent.stop();
  }
  rmSync(root, { recursive: true, force: true });
  return { first: median(first), init: median(init) };
}

function bare(command: string, args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    spawnSync(command, args);
    times.push(performance.now() - t0);
  }
  return median(times);
}

const python = await resolvePython();
const rows = [
  {
    name: 'nodejs20.x',
    baseline: bare(process.execPath, ['-e', '0']),
    ...(await coldStart(
      'nodejs20.x',
      'index.handler',
      'index.mjs',
      'export const handler = async () => ({ ok: true });',
    )),
  },
  {
    name: 'python3.12',
    baseline: bare(python, ['-c', 'pass']),
    ...(await coldStart(
      'python3.12',
      'app.handler',
      'app.py',
      'def handler(e, c):\n    return {"ok": True}\n',
    )),
  },
];
console.log(
  `cold start, median of ${rounds} fresh agents (baseline: bare interpreter start to exit)`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(11)} first invoke ${r.first.toFixed(1)} ms  init ${r.init.toFixed(1)} ms  ` +
      `baseline ${r.baseline.toFixed(1)} ms  first/baseline ${(r.first / r.baseline).toFixed(2)}x`,
  );
}
