// The official Lambda runtime interface clients run unchanged as a `provided`
// bootstrap against the agent's Runtime API: proof that it speaks the real protocol.
// `bash test/services/provision.sh ric` installs them (npm test does it first).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { json, withAgent } from '../../test/support/agent.ts';

const versions = readFileSync(
  resolve(import.meta.dirname, '../../test/services/versions.sh'),
  'utf8',
);
const pinned = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(versions)![1]!;
const cache = process.env.SELFLESS_CACHE ?? join(homedir(), '.cache', 'selfless');
const nodeRic = join(
  cache,
  `aws-lambda-ric-${pinned('NODE_RIC_VERSION')}`,
  'node_modules',
  'aws-lambda-ric',
  'bin',
  'index.mjs',
);
const pythonRic = join(cache, `awslambdaric-${pinned('PYTHON_RIC_VERSION')}`, 'bin', 'python');

function requireInstalled(path: string): void {
  assert.ok(existsSync(path), `${path} is missing: run bash test/services/provision.sh ric`);
}

describe('official runtime interface clients as provided bootstraps', () => {
  it('npm aws-lambda-ric serves invocations, errors and context', async () => {
    requireInstalled(nodeRic);
    const files = {
      bootstrap: `#!/bin/sh\nexec "${process.execPath}" "${nodeRic}" "$_HANDLER"\n`,
      'index.mjs': `let calls = 0;
export const handler = async (event, context) => {
  if (event.fail) throw new TypeError('ric failure');
  console.log('ric says hi');
  return { calls: ++calls, event, requestId: context.awsRequestId, fn: context.functionName, arn: context.invokedFunctionArn };
};`,
    };
    await withAgent(
      { spec: { runtime: 'provided', handler: 'index.handler' }, files },
      async ({ channel, logs }) => {
        const a = await channel.invoke({ hello: 'ric' }, { logTail: true });
        assert.equal(a.functionError, undefined, a.payload.toString());
        const body = json(a.payload);
        assert.deepEqual(body.event, { hello: 'ric' });
        assert.equal(body.requestId, a.requestId);
        assert.equal(body.fn, 'fixture-fn');
        assert.equal(body.arn, 'arn:aws:lambda:us-east-1:000000000000:function:fixture-fn');
        assert.ok(a.initDurationMs! > 0);
        assert.match(Buffer.from(a.logResult!, 'base64').toString(), /ric says hi/);
        const b = await channel.invoke({});
        assert.equal(json(b.payload).calls, 2, 'warm');
        const failed = await channel.invoke({ fail: true });
        assert.equal(failed.functionError, 'Unhandled');
        assert.equal(json(failed.payload).errorType, 'TypeError');
        assert.equal(json(failed.payload).errorMessage, 'ric failure');
        assert.ok(logs.some((l) => l.includes('ric says hi')));
      },
    );
  });

  it('npm aws-lambda-ric reports a missing handler through init/error', async () => {
    requireInstalled(nodeRic);
    const files = {
      bootstrap: `#!/bin/sh\nexec "${process.execPath}" "${nodeRic}" "$_HANDLER"\n`,
      'index.mjs': 'export const other = async () => 1;',
    };
    await withAgent(
      { spec: { runtime: 'provided', handler: 'index.handler' }, files },
      async ({ channel }) => {
        const r = await channel.invoke({});
        assert.equal(r.functionError, 'Unhandled');
        assert.equal(json(r.payload).errorType, 'Runtime.HandlerNotFound');
      },
    );
  });

  it('PyPI awslambdaric serves invocations, errors and context', async () => {
    requireInstalled(pythonRic);
    const files = {
      bootstrap: `#!/bin/sh\nexec "${pythonRic}" -m awslambdaric "$_HANDLER"\n`,
      'app.py': `calls = 0
def handler(event, context):
    global calls
    if event.get("fail"):
        raise ValueError("pyric failure")
    calls += 1
    print("pyric says hi")
    return {"calls": calls, "event": event, "request_id": context.aws_request_id, "remaining": context.get_remaining_time_in_millis()}
`,
    };
    await withAgent(
      { spec: { runtime: 'provided', handler: 'app.handler' }, files },
      async ({ channel }) => {
        const a = await channel.invoke({ hello: 'pyric' }, { logTail: true });
        assert.equal(a.functionError, undefined, a.payload.toString());
        const body = json(a.payload);
        assert.deepEqual(body.event, { hello: 'pyric' });
        assert.equal(body.request_id, a.requestId);
        assert.ok((body.remaining as number) > 0);
        assert.match(Buffer.from(a.logResult!, 'base64').toString(), /pyric says hi/);
        assert.equal(json((await channel.invoke({})).payload).calls, 2, 'warm');
        const failed = await channel.invoke({ fail: true });
        assert.equal(failed.functionError, 'Unhandled');
        assert.equal(json(failed.payload).errorType, 'ValueError');
        assert.equal(json(failed.payload).errorMessage, 'pyric failure');
      },
    );
  });

  it('PyPI awslambdaric reports an import failure through init/error', async () => {
    requireInstalled(pythonRic);
    const files = { bootstrap: `#!/bin/sh\nexec "${pythonRic}" -m awslambdaric "$_HANDLER"\n` };
    await withAgent(
      { spec: { runtime: 'provided', handler: 'missing.handler' }, files },
      async ({ channel }) => {
        const r = await channel.invoke({});
        assert.equal(r.functionError, 'Unhandled');
        assert.equal(json(r.payload).errorType, 'Runtime.ImportModuleError');
      },
    );
  });
});
