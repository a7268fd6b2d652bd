// Several events per environment (perExecutionEnvironmentMaxConcurrency, Lambda
// Managed Instances): a real Agent with real Node.js and Python runtimes and the
// queue channel. Handlers meet at barriers, so an event only finishes when the
// others are running beside it: a runtime that ran them one by one would hang.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InvocationResult } from '../worker-channel/channel.ts';
import { isAlive, json, withAgent } from '../../test/support/agent.ts';

/** Node handler: waits until `e.meet` events are in flight at once, then answers. */
const nodeBarrier = {
  'index.mjs': `let inFlight = 0;
// A hung event waits on I/O in real code; this timer stands for it (an empty event
// loop would end the process).
setInterval(() => {}, 60_000);
const hung = [];
const checks = [];
const until = (ok) => new Promise((r) => { const check = () => (ok() ? r() : checks.push(check)); check(); });
export const handler = async (e) => {
  inFlight++;
  for (const check of checks.splice(0)) check();
  console.log('event', e.n);
  if (e.exit) { await until(() => inFlight >= e.meet); process.exit(3); }
  if (e.hang) await new Promise((r) => hung.push(r));
  else await until(() => inFlight >= e.meet);
  if (e.release) for (const r of hung.splice(0)) r();
  inFlight--;
  return { n: e.n, pid: process.pid, max: process.env.AWS_LAMBDA_MAX_CONCURRENCY };
};`,
};

const decode = (r: InvocationResult) => json(r.payload);

describe('Agent with perExecutionEnvironmentMaxConcurrency', () => {
  it('runs N events at once in one Node.js process, each with its own START/END/REPORT and log tail', async () => {
    await withAgent(
      {
        spec: {
          runtime: 'nodejs22.x',
          handler: 'index.handler',
          perExecutionEnvironmentMaxConcurrency: 4,
        },
        files: nodeBarrier,
      },
      async ({ channel, logs }) => {
        const results = await Promise.all(
          [1, 2, 3, 4].map((n) => channel.invoke({ n, meet: 4 }, { logTail: true })),
        );
        const docs = results.map(decode);
        assert.deepEqual(
          docs.map((d) => d.n),
          [1, 2, 3, 4],
        );
        assert.equal(new Set(docs.map((d) => d.pid)).size, 1, 'one process ran all four');
        assert.ok(
          docs.every((d) => d.max === '4'),
          'AWS_LAMBDA_MAX_CONCURRENCY is set',
        );
        for (const [i, r] of results.entries()) {
          assert.equal(r.functionError, undefined);
          const id = r.requestId;
          assert.equal(
            logs.filter((l) => l === `START RequestId: ${id} Version: $LATEST`).length,
            1,
          );
          assert.equal(logs.filter((l) => l === `END RequestId: ${id}`).length, 1);
          assert.equal(logs.filter((l) => l.startsWith(`REPORT RequestId: ${id}\t`)).length, 1);
          // console lines carry the id of the event whose async work wrote them
          const line = logs.find((l) => l.endsWith(`\tINFO\tevent ${i + 1}`))!;
          assert.equal(line.split('\t')[1], id);
          const tail = Buffer.from(r.logResult!, 'base64').toString('utf8');
          assert.ok(tail.includes(`event ${i + 1}`), 'its own console line is in its tail');
          for (const other of results) {
            if (other !== r) assert.ok(!tail.includes(other.requestId), "no other event's lines");
          }
        }
        const cold = results.filter((r) => r.initDurationMs !== undefined);
        assert.equal(cold.length, 1, 'Init Duration reported once, on the first event');
      },
    );
  });

  it('fails only the event that times out: the runtime and the other events go on, and the slot frees when the runtime answers late', async () => {
    await withAgent(
      {
        spec: {
          runtime: 'nodejs22.x',
          handler: 'index.handler',
          timeout: 1,
          perExecutionEnvironmentMaxConcurrency: 2,
        },
        files: nodeBarrier,
      },
      async ({ channel, logs }) => {
        const hung = channel.invoke({ n: 1, hang: true }, { timeoutSeconds: 1 });
        const timedOut = await hung;
        assert.equal(timedOut.functionError, 'Unhandled');
        assert.match(String(decode(timedOut).errorMessage), /Task timed out after 1\.00 seconds$/);
        assert.ok(logs.some((l) => l === `END RequestId: ${timedOut.requestId}`));
        // The other slot still serves; this event also releases the hung one.
        const after = await channel.invoke({ n: 2, meet: 1, release: true });
        const doc = decode(after);
        assert.equal(after.functionError, undefined);
        assert.ok(isAlive(doc.pid as number), 'the runtime was not killed');
        // The late answer is dropped and its slot asks for work again: two events
        // meet again, so both slots are free.
        const both = await Promise.all([
          channel.invoke({ n: 3, meet: 2 }),
          channel.invoke({ n: 4, meet: 2 }),
        ]);
        assert.deepEqual(
          both.map((r) => decode(r).pid),
          [doc.pid, doc.pid],
        );
      },
    );
  });

  it('kills and re-initialises the runtime when every slot holds a timed-out event', async () => {
    await withAgent(
      {
        spec: {
          runtime: 'nodejs22.x',
          handler: 'index.handler',
          timeout: 1,
          perExecutionEnvironmentMaxConcurrency: 2,
        },
        files: nodeBarrier,
      },
      async ({ channel }) => {
        const warm = decode(await channel.invoke({ n: 0, meet: 1 }));
        const [a, b] = await Promise.all([
          channel.invoke({ n: 1, hang: true }, { timeoutSeconds: 1 }),
          channel.invoke({ n: 2, hang: true }, { timeoutSeconds: 1 }),
        ]);
        assert.match(String(decode(a).errorMessage), /Task timed out/);
        assert.match(String(decode(b).errorMessage), /Task timed out/);
        const next = decode(await channel.invoke({ n: 3, meet: 1 }));
        assert.notEqual(next.pid, warm.pid, 'a new runtime serves after every slot timed out');
        assert.equal(isAlive(warm.pid as number), false);
      },
    );
  });

  it('fails every event in flight when the one Node.js process crashes, then restarts it', async () => {
    await withAgent(
      {
        spec: {
          runtime: 'nodejs22.x',
          handler: 'index.handler',
          perExecutionEnvironmentMaxConcurrency: 3,
        },
        files: nodeBarrier,
      },
      async ({ channel }) => {
        const warm = decode(await channel.invoke({ n: 0, meet: 1 }));
        // The crashing event waits until the other two run beside it.
        const results = await Promise.all([
          channel.invoke({ n: 1, hang: true }),
          channel.invoke({ n: 2, hang: true }),
          channel.invoke({ n: 3, exit: true, meet: 3 }),
        ]);
        for (const r of results) {
          assert.equal(r.functionError, 'Unhandled');
          assert.equal(decode(r).errorType, 'Runtime.ExitError');
          assert.match(String(decode(r).errorMessage), /exit status 3$/);
        }
        const next = decode(await channel.invoke({ n: 4, meet: 1 }));
        assert.notEqual(next.pid, warm.pid);
      },
    );
  });

  it('reports a failed init once, not once per slot, and fails the waiting event with it', async () => {
    await withAgent(
      {
        spec: {
          runtime: 'nodejs22.x',
          handler: 'index.handler',
          perExecutionEnvironmentMaxConcurrency: 3,
        },
        files: { 'index.mjs': 'export const handler = async () => {' },
      },
      async ({ channel }) => {
        const failed = await channel.invoke({});
        assert.equal(failed.functionError, 'Unhandled');
        assert.equal(decode(failed).errorType, 'Runtime.UserCodeSyntaxError');
        assert.equal(channel.initFailures.length, 1, 'one report for the environment');
      },
    );
  });

  it('runs one Python process per concurrent event; a crashed one fails only its event and is replaced', async () => {
    const files = {
      'app.py': `import os, time

def handler(event, context):
    mark = os.path.join(os.environ["TMPDIR"], f"in-{event['n']}")
    open(mark, "w").close()
    if event.get("exit"):
        os._exit(3)
    # meet the others: every event's process must be running at once
    while len([f for f in os.listdir(os.environ["TMPDIR"]) if f.startswith("in-")]) < event["meet"]:
        time.sleep(0.005)
    return {"n": event["n"], "pid": os.getpid(), "max": os.environ.get("AWS_LAMBDA_MAX_CONCURRENCY")}
`,
    };
    await withAgent(
      {
        spec: {
          runtime: 'python3.13',
          handler: 'app.handler',
          memorySize: 512,
          perExecutionEnvironmentMaxConcurrency: 3,
        },
        files,
      },
      async ({ channel, logs }) => {
        const results = await Promise.all(
          [1, 2, 3].map((n) => channel.invoke({ n, meet: 3 }, { timeoutSeconds: 10 })),
        );
        const docs = results.map(decode);
        assert.equal(new Set(docs.map((d) => d.pid)).size, 3, 'three processes, one per event');
        assert.ok(docs.every((d) => d.max === '3'));
        for (const r of results)
          assert.equal(
            logs.filter((l) => l.startsWith(`REPORT RequestId: ${r.requestId}\t`)).length,
            1,
          );

        const crashed = await channel.invoke({ n: 4, exit: true, meet: 0 }, { timeoutSeconds: 10 });
        assert.equal(crashed.functionError, 'Unhandled');
        assert.equal(decode(crashed).errorType, 'Runtime.ExitError');
        assert.match(String(decode(crashed).errorMessage), /exit status 3$/);
        // The environment goes on with the other processes and a replacement.
        const again = await Promise.all(
          [5, 6, 7].map((n) => channel.invoke({ n, meet: 7 }, { timeoutSeconds: 10 })),
        );
        const pids = again.map((r) => decode(r).pid as number);
        assert.equal(new Set(pids).size, 3);
        assert.ok(
          pids.filter((p) => docs.some((d) => d.pid === p)).length >= 2,
          'the processes that did not crash still serve',
        );
      },
    );
  });
});
