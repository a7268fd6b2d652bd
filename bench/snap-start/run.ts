// SnapStart against a cold init, for a Python handler whose init creates boto3's
// DynamoDB and Lambda clients. Baseline, in the same run: fresh environments of the
// same code as a published version without SnapStart (a cold init: interpreter
// start, boto3 import, two clients). Measured: fresh environments of it as a
// SnapStart version, each restored from the one initialised snapshot that the first
// environment made (Lambda takes that snapshot when the version is published, so its
// cost is left out, and printed apart). Each figure is from `new Agent` to the first
// answer, as the gateway's process driver sees it, with the Init Duration or
// Restore Duration of the REPORT line.
//
//   node --import tsx bench/snap-start/run.ts [rounds]
//
// Needs boto3 for the interpreter the python runtimes use (as Lambda's Python
// runtimes have it): `bash test/services/provision.sh boto3` puts the pinned one in
// the cache, and the bench links it into the function's code.
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../lib/agent/agent.ts';
import { closeSnapshots } from '../../lib/agent/snapshot.ts';
import { parseFunctionSpec, type FunctionDefinition } from '../../lib/function.ts';
import { QueueChannel } from '../../test/support/queue-channel.ts';

const rounds = Number(process.argv[2] ?? 10);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const versions = readFileSync(join(import.meta.dirname, '../../test/services/versions.sh'), 'utf8');
const BOTO3 = join(
  homedir(),
  '.cache',
  'selfless',
  `boto3-${/^BOTO3_VERSION=(\S+)/m.exec(versions)![1]}`,
);
if (!existsSync(join(BOTO3, 'boto3'))) {
  console.error(`${BOTO3} is missing: run bash test/services/provision.sh boto3`);
  process.exit(2);
}

const HANDLER = `
import boto3
dynamodb = boto3.client("dynamodb", region_name="us-east-1")
lambda_ = boto3.client("lambda", region_name="us-east-1")

def handler(event, context):
    return {"ok": True}
`;

const root = mkdtempSync(join(tmpdir(), 'selfless-bench-snap-'));
writeFileSync(join(root, 'app.py'), HANDLER);
for (const entry of readdirSync(BOTO3)) {
  if (!entry.startsWith('.') && entry !== 'bin') symlinkSync(join(BOTO3, entry), join(root, entry));
}

function definition(snapStart: boolean, version: string): FunctionDefinition {
  const spec = parseFunctionSpec({
    runtime: 'python3.12',
    handler: 'app.handler',
    memorySize: 512,
    code: { directory: root },
    ...(snapStart && { snapStart: { applyOn: 'PublishedVersions' } }),
  });
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  return { name: 'bench', namespace: 'default', spec: spec.value, version };
}

/** One fresh environment: ms to its first answer, and its REPORT line's init or restore ms. */
async function environment(fn: FunctionDefinition, i: number) {
  const channel = new QueueChannel('bench');
  const lines: string[] = [];
  const t0 = performance.now();
  const agent = new Agent({
    channel,
    worker: { workerId: `w${i}`, functionName: 'bench' },
    fn,
    codeDir: root,
    tmpDir: join(root, `tmp${i}`),
    env: {},
    log: (line) => lines.push(line),
  });
  await agent.start();
  const r = await channel.invoke({});
  const first = performance.now() - t0;
  if (r.functionError) throw new Error(r.payload.toString());
  await agent.stop();
  const report = lines.find((l) => l.startsWith('REPORT')) ?? '';
  const phase = /(?:Init|Restore) Duration: ([\d.]+) ms/.exec(report);
  return { first, phase: phase ? Number(phase[1]) : NaN };
}

const cold = definition(false, '1');
const snap = definition(true, '2');
const snapshotTaken = await environment(snap, 0);
const coldFirst: number[] = [];
const coldInit: number[] = [];
const restoredFirst: number[] = [];
const restore: number[] = [];
for (let i = 1; i <= rounds; i++) {
  const c = await environment(cold, i);
  coldFirst.push(c.first);
  coldInit.push(c.phase);
  const s = await environment(snap, i + rounds);
  restoredFirst.push(s.first);
  restore.push(s.phase);
}
closeSnapshots();
rmSync(root, { recursive: true, force: true });

const cf = median(coldFirst);
const ci = median(coldInit);
const rf = median(restoredFirst);
console.log(
  `SnapStart, python3.12, init creates boto3 dynamodb + lambda clients; median of ${rounds} fresh environments each`,
);
console.log(`baseline cold:  first answer ${cf.toFixed(1)} ms  Init Duration ${ci.toFixed(1)} ms`);
console.log(
  `restored:       first answer ${rf.toFixed(1)} ms  Restore Duration ${median(restore).toFixed(1)} ms`,
);
console.log(
  `snapshot taken once (first environment of the version): ${snapshotTaken.first.toFixed(1)} ms`,
);
console.log(
  `restored first answer / cold first answer ${(rf / cf).toFixed(3)}x  / cold Init Duration ${(rf / ci).toFixed(3)}x (goal <= 0.2)`,
);
