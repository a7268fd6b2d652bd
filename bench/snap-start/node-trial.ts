// Node.js SnapStart trial (issue #14 part 3, docs/snapstart-nodejs.md): CRIU
// checkpoint/restore of an initialised Node.js runtime process against a cold start
// of the same code, in the same run. The init loads @aws-sdk/client-dynamodb and
// @aws-sdk/client-lambda and constructs one client of each; each figure is from spawn
// to the first answer on the process's stdout. The snapshot is dumped once (Lambda
// takes it at publish, so its cost is printed apart); each restore runs in its own pid
// namespace, so restores of one image can run at once (CRIU gives back the dumped PIDs).
// Not agent code: the agent's Node.js runtime does not restore.
//
//   CRIU=/path/to/criu node --import tsx bench/snap-start/node-trial.ts [rounds]
//
// Needs root, python3, unshare, mkfifo and a CRIU whose `criu check` passes on this
// kernel: on Linux 6.13+ that is CRIU 4.1 or later (earlier ones stop at "vdso:
// Unexpected rt vDSO area bounds"), built with RUNDIR on a tmpfs so that it keeps its
// kernel-feature cache between runs.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

const CRIU = process.env.CRIU ?? 'criu';
const rounds = Number(process.argv[2] ?? 10);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const env = { ...process.env, NODE_NO_WARNINGS: '1' };

try {
  execFileSync(CRIU, ['check'], { stdio: 'pipe' });
} catch (err) {
  console.error(`${CRIU} check failed:\n${(err as { stderr?: Buffer }).stderr?.toString()}`);
  process.exit(2);
}

// The handler's init, then one answer per stdin line; the answer carries Math.random()
// to show whether restores of one image draw the same numbers.
const APP = `
const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
const { LambdaClient } = require('@aws-sdk/client-lambda');
const ddb = new DynamoDBClient({ region: 'us-east-1' });
const lambda = new LambdaClient({ region: 'us-east-1' });
process.stdout.write('ready\\n');
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  for (let i; (i = buf.indexOf('\\n')) >= 0; buf = buf.slice(i + 1)) {
    const cmd = new GetItemCommand({ TableName: buf.slice(0, i), Key: { id: { S: 'x' } } });
    process.stdout.write('answer ' + cmd.input.TableName + ' ' + typeof ddb.send + ' ' +
      typeof lambda.send + ' ' + Math.random() + '\\n');
  }
});
`;

// Node's 'pipe' stdio are socketpairs, and CRIU cannot dump one half of a stream unix
// connection, so the dumped process gets real pipes from Python's subprocess. It runs
// in its own session, so no --shell-job. Prints the dumped process's fd 0-2 (pipe:[ino]).
const DUMP = `
import os, subprocess, sys
p = subprocess.Popen(['node', 'app.cjs'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, start_new_session=True)
p.stdout.readline()
print(' '.join(os.readlink(f'/proc/{p.pid}/fd/{fd}') for fd in (0, 1, 2)))
sys.stdout.flush()
subprocess.run([sys.argv[1], 'dump', '-t', str(p.pid), '--images-dir', sys.argv[2],
                '-o', 'dump.log'], check=True)
`;

const root = mkdtempSync(join(tmpdir(), 'selfless-node-snap-'));
const images = join(root, 'images');
mkdirSync(images);
writeFileSync(join(root, 'app.cjs'), APP);
symlinkSync(join(import.meta.dirname, '../../node_modules'), join(root, 'node_modules'));

function answer(out: Readable, child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    out.setEncoding('utf8');
    out.on('data', (d: string) => {
      buf += d;
      const line = buf.split('\n').find((l) => l.startsWith('answer'));
      if (line) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before answering: ${buf}`)));
  });
}

/** Kills `child` and waits for its end, so that no teardown overlaps the next figure. */
function stop(child: ChildProcess): Promise<unknown> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  return exited;
}

async function cold(): Promise<number> {
  const t0 = performance.now();
  const child = spawn('node', ['app.cjs'], { cwd: root, env, stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin!.write('cold\n');
  await answer(child.stdout!, child);
  const ms = performance.now() - t0;
  await stop(child);
  return ms;
}

/** One end of an unnamed FIFO, read-write so that opening it does not wait for a peer. */
function fifo(): number {
  const path = join(root, `fifo-${Math.random().toString(36).slice(2)}`);
  execFileSync('mkfifo', [path]);
  const fd = openSync(path, 'r+');
  rmSync(path);
  return fd;
}

// A restore takes FIFOs in place of the dumped pipes (--inherit-fd): CRIU reopens an
// inherited pipe through /proc/self/fd/N, which a socketpair refuses (ENXIO). The FIFOs
// are made before the clock starts (a mkfifo process each); --mount-proc because CRIU
// reads /proc of the pid namespace it restores into; --kill-child because killing
// unshare alone leaves criu (the namespace's init) and the restored process running,
// while killing the init ends everything in its namespace.
async function restore(pipes: string[], tag: string) {
  const fds = [fifo(), fifo(), fifo()];
  const t0 = performance.now();
  const args = ['--pid', '--fork', '--kill-child', '--mount-proc', CRIU, 'restore'];
  args.push('--images-dir', images);
  for (const [fd, pipe] of pipes.entries()) args.push('--inherit-fd', `fd[${fd}]:${pipe}`);
  const child = spawn('unshare', args, { cwd: root, env, stdio: fds });
  writeSync(fds[0]!, `${tag}\n`);
  const out = new Socket({ fd: fds[1]!, readable: true, writable: false });
  const line = await answer(out, child);
  const ms = performance.now() - t0;
  await stop(child);
  out.destroy();
  closeSync(fds[0]!);
  closeSync(fds[2]!);
  return { ms, random: line.split(' ').at(-1) };
}

const t0 = performance.now();
const pipes = execFileSync('python3', ['-c', DUMP, CRIU, images], { cwd: root, env })
  .toString()
  .trim()
  .split(' ');
const snapshotTaken = performance.now() - t0;
const coldMs: number[] = [];
const restoredMs: number[] = [];
for (let i = 0; i < rounds; i++) {
  coldMs.push(await cold());
  restoredMs.push((await restore(pipes, `r${i}`)).ms);
}
const both = await Promise.all([restore(pipes, 'p1'), restore(pipes, 'p2')]);
rmSync(root, { recursive: true, force: true });

const c = median(coldMs);
const r = median(restoredMs);
console.log(
  `Node.js SnapStart trial (CRIU), init creates @aws-sdk dynamodb + lambda clients; median of ${rounds}, spawn to first answer`,
);
console.log(`baseline cold:  ${c.toFixed(1)} ms [${coldMs.map((x) => x.toFixed(0)).join(' ')}]`);
console.log(
  `restored:       ${r.toFixed(1)} ms [${restoredMs.map((x) => x.toFixed(0)).join(' ')}]`,
);
console.log(`snapshot taken once (start, init, criu dump): ${snapshotTaken.toFixed(1)} ms`);
console.log(
  `two restores at once: ${both.map((b) => `${b.ms.toFixed(1)} ms`).join(', ')}; same Math.random(): ${both[0]!.random === both[1]!.random}`,
);
console.log(`restored / cold ${(r / c).toFixed(3)}x (goal <= 0.2)`);
