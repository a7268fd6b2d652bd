// The agent's supervision, end to end: a real Agent, real Node.js and Python
// runtimes, a real (queue) WorkerChannel.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { InvocationResult } from '../worker-channel/channel.ts';
import { isAlive, json, withAgent } from '../../test/support/agent.ts';

const counter = {
  'index.mjs': `let calls = 0;
export const handler = async (event) => ({ calls: ++calls, pid: process.pid, event });`,
};

describe('Agent', () => {
  it('reuses a warm runtime and reports Init Duration only on the first invocation', async () => {
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler' }, files: counter },
      async ({ channel, logs }) => {
        const first = await channel.invoke({ n: 1 });
        const second = await channel.invoke({ n: 2 });
        const a = json(first.payload);
        const b = json(second.payload);
        assert.deepEqual(a.event, { n: 1 });
        assert.equal(a.calls, 1);
        assert.equal(b.calls, 2, 'module state survives: the same runtime served both');
        assert.equal(b.pid, a.pid);
        assert.ok(first.initDurationMs! > 0, 'cold start measured');
        assert.equal(second.initDurationMs, undefined);
        assert.equal(first.functionError, undefined);
        assert.ok(first.billedDurationMs >= Math.ceil(first.durationMs));
        assert.ok(first.maxMemoryUsedMB > 10, `Max Memory Used ${first.maxMemoryUsedMB} MB`);
        const reports = logs.filter((l) => l.startsWith('REPORT '));
        assert.equal(reports.length, 2);
        assert.match(
          reports[0]!,
          /^REPORT RequestId: [0-9a-f-]{36}\tInit Duration: \d+\.\d\d ms\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB$/,
        );
        assert.doesNotMatch(reports[1]!, /Init Duration/);
        assert.ok(logs.includes(`START RequestId: ${first.requestId} Version: $LATEST`));
        assert.ok(logs.includes(`END RequestId: ${first.requestId}`));
      },
    );
  });

  it("answers a timeout with Lambda's error, kills the runtime and re-initialises it", async () => {
    const files = {
      'index.mjs': `export const handler = async (e) => {
  if (e.sleep) await new Promise((r) => setTimeout(r, e.sleep));
  return { pid: process.pid };
};`,
    };
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler', timeout: 1 }, files },
      async ({ channel, logs }) => {
        const warm = json((await channel.invoke({})).payload);
        const timedOut = await channel.invoke({ sleep: 5000 }, { timeoutSeconds: 1 });
        assert.equal(timedOut.functionError, 'Unhandled');
        const doc = json(timedOut.payload);
        assert.deepEqual(Object.keys(doc), ['errorMessage']);
        assert.match(
          String(doc.errorMessage),
          new RegExp(
            `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ ${timedOut.requestId} Task timed out after 1\\.00 seconds$`,
          ),
        );
        // Measured up to the deadline; the 5 s sleep never ended, its runtime was killed.
        assert.ok(timedOut.durationMs >= 900, `${timedOut.durationMs} ms`);
        assert.ok(
          logs.some((l) => l.endsWith(`${timedOut.requestId} Task timed out after 1.00 seconds`)),
        );
        assert.equal(isAlive(warm.pid as number), false, 'the timed-out runtime was killed');
        const after = json((await channel.invoke({})).payload);
        assert.notEqual(after.pid, warm.pid, 'a new runtime serves the next call');
      },
    );
  });

  it('reports a runtime that exits mid-invocation as Runtime.ExitError and restarts it', async () => {
    const files = {
      'index.js': `exports.handler = async (e) => { if (e.exit) process.exit(3); return { pid: process.pid }; };`,
    };
    await withAgent(
      { spec: { runtime: 'nodejs22.x', handler: 'index.handler' }, files },
      async ({ channel }) => {
        const before = json((await channel.invoke({})).payload);
        const crashed = await channel.invoke({ exit: true });
        assert.equal(crashed.functionError, 'Unhandled');
        assert.deepEqual(json(crashed.payload), {
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${crashed.requestId} Error: Runtime exited with error: exit status 3`,
        });
        const after = json((await channel.invoke({})).payload);
        assert.notEqual(after.pid, before.pid);
      },
    );
  });

  it('restarts a runtime that dies while idle before the next invocation arrives', async () => {
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler' }, files: counter },
      async ({ channel, logs }) => {
        const first = json((await channel.invoke({})).payload);
        process.kill(first.pid as number, 'SIGKILL');
        while (!logs.includes('Error: Runtime exited with error: signal: killed')) {
          await new Promise((r) => setTimeout(r, 5));
        }
        const second = await channel.invoke({});
        assert.equal(second.functionError, undefined);
        assert.equal(json(second.payload).calls, 1, 'a fresh runtime');
      },
    );
  });

  it('reports an init failure through channel.initFailed and retries with backoff', async () => {
    await withAgent(
      {
        spec: { runtime: 'nodejs20.x', handler: 'index.nope' },
        files: { 'index.mjs': 'export const handler = async () => 1;' },
      },
      async ({ channel, logs }) => {
        const result = await channel.invoke({});
        assert.equal(result.functionError, 'Unhandled');
        assert.equal(json(result.payload).errorType, 'Runtime.HandlerNotFound');
        while (channel.initFailures.length < 2) await new Promise((r) => setTimeout(r, 20));
        assert.equal(channel.initFailures[0]!.error.errorType, 'Runtime.HandlerNotFound');
        assert.equal(
          channel.initFailures[0]!.error.errorMessage,
          'index.nope is undefined or not exported',
        );
        assert.equal(channel.nextCalls, 0, 'a failed environment never asks for work');
        assert.ok(
          logs.some((l) =>
            /^INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\tError Type: Runtime.HandlerNotFound$/.test(
              l,
            ),
          ),
        );
      },
    );
  });

  it('reports a runtime that exits during init as Runtime.ExitError', async () => {
    await withAgent(
      { spec: { runtime: 'provided' }, files: { bootstrap: '#!/bin/sh\necho dying\nexit 7\n' } },
      async ({ channel, logs }) => {
        while (channel.initFailures.length < 1) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(channel.initFailures[0]!.error, {
          errorType: 'Runtime.ExitError',
          errorMessage: 'Error: Runtime exited with error: exit status 7',
        });
        assert.ok(logs.includes('dying'));
      },
    );
  });

  it('returns the last 4 KB of the invocation log for Tail', async () => {
    const files = {
      'index.mjs': `export const handler = async (e) => {
  console.log('hello from', e.who);
  for (let i = 0; i < e.lines; i++) console.log('line ' + i + ' ' + 'x'.repeat(60));
  return 'ok';
};`,
    };
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler' }, files },
      async ({ channel }) => {
        const short = await channel.invoke({ who: 'tail', lines: 0 }, { logTail: true });
        const text = Buffer.from(short.logResult!, 'base64').toString('utf8');
        const lines = text.trimEnd().split('\n');
        assert.equal(lines[0], `START RequestId: ${short.requestId} Version: $LATEST`);
        assert.match(
          lines[1]!,
          new RegExp(
            `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${short.requestId}\\tINFO\\thello from tail$`,
          ),
        );
        assert.equal(lines[2], `END RequestId: ${short.requestId}`);
        assert.match(lines[3]!, /^REPORT RequestId: /);

        const long = await channel.invoke({ who: 'tail', lines: 200 }, { logTail: true });
        const tail = Buffer.from(long.logResult!, 'base64');
        assert.equal(tail.length, 4096);
        assert.match(tail.toString('utf8'), /REPORT RequestId: [^\n]+\n$/);
        const none = await channel.invoke({ who: 'x', lines: 0 });
        assert.equal(none.logResult, undefined);
      },
    );
  });

  it('kills a runtime whose memory exceeds memorySize and reports Runtime.OutOfMemory', async () => {
    const files = {
      'index.mjs': `const hog = [];
export const handler = async (e) => {
  if (!e.hog) return { pid: process.pid };
  for (;;) { hog.push(Buffer.alloc(8 * 1024 * 1024, 1)); await new Promise((r) => setTimeout(r, 5)); }
};`,
    };
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler', timeout: 20 }, files },
      async ({ channel }) => {
        const before = json((await channel.invoke({})).payload);
        const oom = await channel.invoke({ hog: true }, { timeoutSeconds: 20 });
        assert.equal(oom.functionError, 'Unhandled');
        assert.deepEqual(json(oom.payload), {
          errorType: 'Runtime.OutOfMemory',
          errorMessage: `RequestId: ${oom.requestId} Error: Runtime exited with error: signal: killed`,
        });
        assert.ok(oom.maxMemoryUsedMB >= 128, `Max Memory Used ${oom.maxMemoryUsedMB} MB`);
        assert.equal(isAlive(before.pid as number), false);
        assert.equal((await channel.invoke({})).functionError, undefined, 'restarted');
      },
    );
  });

  it('detects /tmp use beyond ephemeralStorage, fails the call and empties /tmp', async () => {
    // A sparse file: the apparent size counts, so no disk space is really used.
    const files = {
      'index.mjs': `import { openSync, ftruncateSync, closeSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
export const handler = async (e) => {
  if (e.mb) { const fd = openSync(join(process.env.TMPDIR, 'big'), 'w'); ftruncateSync(fd, e.mb * 1024 * 1024); closeSync(fd); }
  return { tmp: process.env.TMPDIR, files: readdirSync(process.env.TMPDIR) };
};`,
    };
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler' }, files },
      async ({ channel, tmpDir }) => {
        const small = json((await channel.invoke({ mb: 100 })).payload);
        assert.equal(small.tmp, tmpDir);
        const big = await channel.invoke({ mb: 600 });
        assert.equal(big.functionError, 'Unhandled');
        const doc = json(big.payload);
        assert.equal(doc.errorType, 'Runtime.EphemeralStorageExceeded');
        assert.match(String(doc.errorMessage), /over the ephemeral storage limit of 512 MB/);
        assert.deepEqual(json((await channel.invoke({})).payload).files, [], '/tmp was emptied');
      },
    );
  });

  it('drain() lets the call in flight finish, takes no other, then leaves the channel', async () => {
    // The handler holds its call until the test creates a file, after the drain began.
    const files = {
      'index.mjs': `import { existsSync } from 'node:fs';
export const handler = async (e) => {
  if (e.release) {
    console.log('holding');
    while (!existsSync(e.release)) await new Promise((r) => setTimeout(r, 5));
  }
  return { pid: process.pid, released: Boolean(e.release) };
};`,
    };
    const release = join(mkdtempSync(join(tmpdir(), 'selfless-drain-')), 'go');
    let pid = 0;
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler' }, files },
      async ({ agent, channel, logs }) => {
        pid = json((await channel.invoke({})).payload).pid as number;
        const inFlight = channel.invoke({ release });
        while (!logs.some((l) => l.endsWith('\tholding'))) {
          await new Promise((r) => setTimeout(r, 5));
        }
        const drained = agent.drain();
        const queued = channel.invoke({});
        writeFileSync(release, '');
        const r = await inFlight;
        assert.equal(r.functionError, undefined, r.payload.toString());
        assert.deepEqual(json(r.payload), { pid, released: true });
        await drained;
        assert.deepEqual(channel.left, [{ workerId: 'worker-1', functionName: 'fixture-fn' }]);
        const taken = await Promise.race([queued.then(() => true), Promise.resolve(false)]);
        assert.equal(taken, false, 'a drained agent takes no new call');
      },
    );
    assert.equal(isAlive(pid), false);
  });

  it('stop() kills the runtime, answers the call in flight and leaves the channel', async () => {
    const files = {
      'index.mjs': `export const handler = async (e) => {
  if (e.hang) { console.log('hanging'); await new Promise(() => setInterval(() => {}, 1000)); }
  return { pid: process.pid };
};`,
    };
    let pid = 0;
    let inFlight: Promise<InvocationResult> | undefined;
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler' }, files },
      async ({ agent, channel, logs }) => {
        pid = json((await channel.invoke({})).payload).pid as number;
        inFlight = channel.invoke({ hang: true });
        while (!logs.some((l) => l.endsWith('\thanging'))) {
          await new Promise((r) => setTimeout(r, 5));
        }
        await agent.stop();
        assert.deepEqual(channel.left, [{ workerId: 'worker-1', functionName: 'fixture-fn' }]);
      },
    );
    assert.equal(isAlive(pid), false);
    const r = await inFlight!;
    assert.equal(r.functionError, 'Unhandled');
    assert.equal(json(r.payload).errorType, 'Runtime.ExitError');
  });
});
