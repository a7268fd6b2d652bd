// Selfless's Node.js runtime under a real Agent: module formats, handler styles,
// the context object and Lambda's error documents.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { json, withAgent } from '../../../../test/support/agent.ts';

const node = (
  handler: string,
  files: Record<string, string>,
  extra: Record<string, unknown> = {},
) => ({
  spec: { runtime: 'nodejs20.x', handler, ...extra },
  files,
});

describe('Node.js runtime', () => {
  for (const [name, files, handler] of [
    [
      'ESM .mjs',
      { 'index.mjs': `export const handler = async (e) => ({ kind: 'mjs', e });` },
      'index.handler',
    ],
    [
      'CommonJS .js',
      { 'index.js': `exports.handler = async (e) => ({ kind: 'cjs', e });` },
      'index.handler',
    ],
    [
      'CommonJS .cjs',
      { 'lib/app.cjs': `module.exports.run = async (e) => ({ kind: 'cjs', e });` },
      'lib/app.run',
    ],
    [
      'ESM .js under "type": "module"',
      {
        'package.json': '{"type":"module"}',
        'index.js': `export const handler = async (e) => ({ kind: 'esm-js', e });`,
      },
      'index.handler',
    ],
    [
      'a nested export path',
      { 'index.js': `exports.api = { v1: { get: async (e) => ({ kind: 'nested', e }) } };` },
      'index.api.v1.get',
    ],
  ] as const) {
    it(`loads a handler from ${name}`, async () => {
      await withAgent(node(handler, files), async ({ channel }) => {
        const r = await channel.invoke({ x: 1 });
        assert.equal(r.functionError, undefined, r.payload.toString());
        assert.deepEqual(json(r.payload).e, { x: 1 });
      });
    });
  }

  it('supports callback-style handlers, waiting for the event loop unless told not to', async () => {
    const files = {
      'index.js': `let flag = 'unset';
let timer;
exports.handler = (e, context, callback) => {
  clearTimeout(timer);
  if (e.mode === 'no-callback') { setTimeout(() => { flag = 'timer ran'; }, 100); return; }
  context.callbackWaitsForEmptyEventLoop = e.mode === 'wait';
  flag = 'before';
  // Not waited for, the timer outlasts the invocation's timeout.
  timer = setTimeout(() => { flag = 'timer ran'; }, e.mode === 'wait' ? 300 : 60_000);
  callback(null, { flagAtCallback: flag, mode: e.mode });
};
exports.peek = async () => flag;`,
    };
    await withAgent(node('index.handler', files), async ({ channel }) => {
      const waited = await channel.invoke({ mode: 'wait' });
      assert.deepEqual(json(waited.payload), { flagAtCallback: 'before', mode: 'wait' });
      assert.ok(waited.durationMs >= 280, `waited for the timer: ${waited.durationMs} ms`);
      const quick = await channel.invoke({ mode: 'no-wait' });
      assert.equal(quick.functionError, undefined, 'answered at the callback, not timed out');
      assert.deepEqual(json(quick.payload), { flagAtCallback: 'before', mode: 'no-wait' });
      const none = await channel.invoke({ mode: 'no-callback' });
      assert.equal(none.payload.toString(), 'null', 'no callback: null once the loop is empty');
      assert.ok(none.durationMs >= 90);
    });
  });

  it('sets _X_AMZN_TRACE_ID per invocation from Lambda-Runtime-Trace-Id, as the AWS SDKs read it', async () => {
    const files = {
      'index.js': `exports.handler = async () => ({ trace: process.env._X_AMZN_TRACE_ID ?? null });`,
    };
    const traceId = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0';
    await withAgent(node('index.handler', files), async ({ channel }) => {
      assert.deepEqual(json((await channel.invoke({}, { traceId })).payload), { trace: traceId });
      assert.deepEqual(json((await channel.invoke({})).payload), { trace: null });
    });
  });

  it('supports context.succeed / fail / done', async () => {
    const files = {
      'index.js': `exports.handler = (e, context) => {
  if (e.op === 'succeed') context.succeed({ ok: 1 });
  else if (e.op === 'fail') context.fail(new TypeError('bad'));
  else context.done(null, 'done');
};`,
    };
    await withAgent(node('index.handler', files, {}), async ({ channel }) => {
      assert.deepEqual(json((await channel.invoke({ op: 'succeed' })).payload), { ok: 1 });
      const failed = await channel.invoke({ op: 'fail' });
      assert.equal(failed.functionError, 'Unhandled');
      assert.equal(json(failed.payload).errorType, 'TypeError');
      assert.equal((await channel.invoke({ op: 'done' })).payload.toString(), '"done"');
    });
  });

  it('gives the handler the full context object', async () => {
    const files = {
      'index.mjs': `export const handler = async (e, c) => ({
  functionName: c.functionName, functionVersion: c.functionVersion, invokedFunctionArn: c.invokedFunctionArn,
  memoryLimitInMB: c.memoryLimitInMB, awsRequestId: c.awsRequestId, logGroupName: c.logGroupName,
  logStreamName: c.logStreamName, remaining: c.getRemainingTimeInMillis(),
  callbackWaitsForEmptyEventLoop: c.callbackWaitsForEmptyEventLoop, clientContext: c.clientContext,
  identity: c.identity, fns: [typeof c.done, typeof c.succeed, typeof c.fail],
  env: { region: process.env.AWS_REGION, tz: process.env.TZ, handler: process.env._HANDLER, root: process.env.LAMBDA_TASK_ROOT,
    api: process.env.AWS_LAMBDA_RUNTIME_API, exec: process.env.AWS_EXECUTION_ENV, mc: process.env.AWS_LAMBDA_MAX_CONCURRENCY ?? null,
    user: process.env.GREETING, cwd: process.cwd() },
});`,
    };
    const spec = { memorySize: 256, timeout: 7, environment: { variables: { GREETING: 'hi' } } };
    await withAgent(node('index.handler', files, spec), async ({ channel, agent, codeDir }) => {
      const r = await channel.invoke(
        {},
        {
          timeoutSeconds: 7,
          clientContext: JSON.stringify({ custom: { k: 'v' }, env: { platform: 'test' } }),
          cognitoIdentity: JSON.stringify({
            cognitoIdentityId: 'cid',
            cognitoIdentityPoolId: 'pool',
          }),
        },
      );
      const c = json(r.payload);
      assert.equal(c.functionName, 'fixture-fn');
      assert.equal(c.functionVersion, '$LATEST');
      assert.equal(
        c.invokedFunctionArn,
        'arn:aws:lambda:us-east-1:000000000000:function:fixture-fn',
      );
      assert.equal(c.memoryLimitInMB, '256');
      assert.equal(c.awsRequestId, r.requestId);
      assert.equal(c.logGroupName, '/aws/lambda/fixture-fn');
      assert.match(String(c.logStreamName), /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
      assert.ok(
        (c.remaining as number) > 6000 && (c.remaining as number) <= 7000,
        `remaining ${c.remaining}`,
      );
      assert.equal(c.callbackWaitsForEmptyEventLoop, true);
      assert.deepEqual(c.clientContext, { custom: { k: 'v' }, env: { platform: 'test' } });
      assert.deepEqual(c.identity, { cognitoIdentityId: 'cid', cognitoIdentityPoolId: 'pool' });
      assert.deepEqual(c.fns, ['function', 'function', 'function']);
      assert.deepEqual(c.env, {
        region: 'eu-west-1',
        tz: ':UTC',
        handler: 'index.handler',
        root: codeDir,
        api: agent.runtimeApiAddress,
        exec: 'AWS_Lambda_nodejs20.x',
        mc: null,
        user: 'hi',
        cwd: codeDir,
      });
    });
  });

  it("returns a thrown error in Lambda's shape, errorType from the error's name", async () => {
    const files = {
      'index.mjs': `class OrderError extends Error { constructor(m) { super(m); this.name = 'OrderError'; } }
export const handler = async (e) => { if (e.str) throw 'plain string'; throw new OrderError('no stock'); };`,
    };
    await withAgent(node('index.handler', files), async ({ channel, logs }) => {
      const r = await channel.invoke({});
      assert.equal(r.functionError, 'Unhandled');
      const doc = json(r.payload);
      assert.equal(doc.errorType, 'OrderError');
      assert.equal(doc.errorMessage, 'no stock');
      assert.ok(Array.isArray(doc.trace) && (doc.trace as string[])[0] === 'OrderError: no stock');
      assert.ok(
        logs.some((l) =>
          l.includes(`\t${r.requestId}\tERROR\tInvoke Error \t{"errorType":"OrderError"`),
        ),
      );
      const s = await channel.invoke({ str: true });
      assert.deepEqual(json(s.payload), {
        errorType: 'string',
        errorMessage: 'plain string',
        trace: [],
      });
      assert.equal(
        (await channel.invoke({})).functionError,
        'Unhandled',
        'the runtime keeps serving',
      );
    });
  });

  for (const [name, handler, files, errorType, message] of [
    [
      'a missing export',
      'index.missing',
      { 'index.mjs': 'export const handler = 1;' },
      'Runtime.HandlerNotFound',
      'index.missing is undefined or not exported',
    ],
    [
      'an export that is not a function',
      'index.handler',
      { 'index.mjs': 'export const handler = 1;' },
      'Runtime.HandlerNotFound',
      'index.handler is not a function',
    ],
    [
      'a missing module',
      'nothere.handler',
      { 'index.mjs': '' },
      'Runtime.ImportModuleError',
      "Error: Cannot find module 'nothere'",
    ],
    [
      'a syntax error',
      'index.handler',
      { 'index.js': 'exports.handler = async (e) => {' },
      'Runtime.UserCodeSyntaxError',
      /^SyntaxError: /,
    ],
    [
      'init code that throws',
      'index.handler',
      { 'index.mjs': 'throw new RangeError("bad config");' },
      'RangeError',
      'bad config',
    ],
  ] as const) {
    it(`fails init with ${errorType} for ${name}`, async () => {
      await withAgent(node(handler, files), async ({ channel }) => {
        const r = await channel.invoke({});
        assert.equal(r.functionError, 'Unhandled');
        const doc = json(r.payload);
        assert.equal(doc.errorType, errorType);
        if (typeof message === 'string') assert.equal(doc.errorMessage, message);
        else assert.match(String(doc.errorMessage), message);
      });
    });
  }

  it('reports an uncaught exception in the current invocation and restarts', async () => {
    const files = {
      'index.mjs': `export const handler = (e) => new Promise((resolve) => {
  if (e.boom) setTimeout(() => { throw new Error('async boom'); }, 5); else resolve(process.pid);
});`,
    };
    await withAgent(node('index.handler', files), async ({ channel }) => {
      const before = (await channel.invoke({})).payload.toString();
      const r = await channel.invoke({ boom: true });
      assert.equal(r.functionError, 'Unhandled');
      assert.equal(json(r.payload).errorMessage, 'async boom');
      const after = await channel.invoke({});
      assert.equal(after.functionError, undefined);
      assert.notEqual(after.payload.toString(), before);
    });
  });

  it('caps the heap from memorySize and reports exhaustion as Runtime.OutOfMemory', async () => {
    const files = {
      'index.mjs': `const keep = [];
export const handler = async () => { for (;;) keep.push(new Array(1e5).fill({ a: Math.random() })); };`,
    };
    await withAgent(node('index.handler', files, { timeout: 30 }), async ({ channel }) => {
      const r = await channel.invoke({}, { timeoutSeconds: 30 });
      assert.equal(r.functionError, 'Unhandled');
      assert.equal(json(r.payload).errorType, 'Runtime.OutOfMemory');
    });
  });
});

/** The runtime's JSON records of one invocation, in order (platform.* records left out). */
function appRecords(logs: string[], requestId: string): Record<string, unknown>[] {
  return logs
    .filter((l) => l.startsWith('{"timestamp"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.requestId === requestId);
}

describe('Node.js runtime, JSON log format', () => {
  const logging = (applicationLogLevel: string) => ({
    loggingConfig: { logFormat: 'JSON', applicationLogLevel },
  });

  it('writes console.* as {timestamp, level, requestId, message}: one argument as it is, several formatted', async () => {
    const files = {
      'index.js': `exports.handler = async () => {
  console.trace('t');
  console.debug('d %d', 1);
  console.log({ nested: { a: [1] } });
  console.info('i');
  console.warn('w', 'x');
  console.error('failed:', new RangeError('too far'));
  console.fatal('f');
  return 1;
};`,
    };
    await withAgent(node('index.handler', files, logging('TRACE')), async ({ channel, logs }) => {
      const r = await channel.invoke({});
      const records = appRecords(logs, r.requestId);
      assert.deepEqual(
        records.map((x) => [x.level, x.message]),
        [
          ['TRACE', 't'],
          ['DEBUG', 'd 1'],
          ['INFO', { nested: { a: [1] } }],
          ['INFO', 'i'],
          ['WARN', 'w x'],
          ['ERROR', records[5]!.message],
          ['FATAL', 'f'],
        ],
      );
      assert.deepEqual(Object.keys(records[0]!), ['timestamp', 'level', 'requestId', 'message']);
      assert.match(String(records[0]!.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const failed = records[5]!;
      assert.match(String(failed.message), /^failed: RangeError: too far\n {4}at /);
      assert.equal(failed.errorType, 'RangeError');
      assert.equal(failed.errorMessage, 'too far');
      assert.equal((failed.stackTrace as string[])[0], 'RangeError: too far');
    });
  });

  it('drops the console methods below AWS_LAMBDA_LOG_LEVEL (ERROR keeps error and fatal)', async () => {
    const files = {
      'index.js': `exports.handler = async () => {
  console.debug('d'); console.log('l'); console.info('i'); console.warn('w');
  console.error('e'); console.fatal('f');
  return process.env.AWS_LAMBDA_LOG_LEVEL;
};`,
    };
    await withAgent(node('index.handler', files, logging('ERROR')), async ({ channel, logs }) => {
      const r = await channel.invoke({});
      assert.equal(JSON.parse(r.payload.toString()), 'ERROR');
      assert.deepEqual(
        appRecords(logs, r.requestId).map((x) => x.message),
        ['e', 'f'],
      );
    });
  });

  it('logs a failed invocation as an ERROR record of the error, as Lambda does', async () => {
    const files = {
      'index.js': `exports.handler = async () => { throw new TypeError('nope'); };`,
    };
    await withAgent(node('index.handler', files, logging('INFO')), async ({ channel, logs }) => {
      const r = await channel.invoke({});
      assert.equal(r.functionError, 'Unhandled');
      const [record] = appRecords(logs, r.requestId);
      assert.equal(record?.level, 'ERROR');
      const message = record!.message as Record<string, unknown>;
      assert.equal(message.errorType, 'TypeError');
      assert.equal(message.errorMessage, 'nope');
      assert.ok(Array.isArray(message.stackTrace));
      assert.ok(!logs.some((l) => l.includes('Invoke Error')), 'no text line in JSON format');
    });
  });
});
