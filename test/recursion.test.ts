// Recursive loop detection through `selfless dev`, with real functions: one that
// invokes itself asynchronously with @aws-sdk/client-lambda (the SDK's recursion
// detection sends the bootstrap's _X_AMZN_TRACE_ID on as X-Amzn-Trace-Id), one
// whose on-success destination is itself. Each chain stops after 16 invocations,
// the 17th counted in selfless_recursive_invocations_dropped_total and its event
// sent to the on-failure destination; Allow (PutFunctionRecursionConfig, through
// the SDK and the AWS CLI) lets a chain go on. Run once over the in-process event
// store and once over Redis, the store of a cluster's gateways.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  GetFunctionRecursionConfigCommand,
  InvokeCommand,
  LambdaClient,
  PutFunctionRecursionConfigCommand,
  RecursiveInvocationException,
} from '@aws-sdk/client-lambda';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { startDev, type DevServer } from '../cli/dev.ts';
import { makeLogger } from '../lib/log.ts';
import { functionTag } from '../gateway/recursion.ts';
import { eventually } from './support/gateway.ts';
import { awsCliBinary } from './services/local.ts';
import { testServices } from './services/index.ts';

const REPO = resolve(import.meta.dirname, '..');
/** A Redis database of its own: no other test's dispatcher takes these events. */
const REDIS_DB = 11;

const selfInvoking = `import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
const lambda = new LambdaClient({});
export const handler = async (event, context) => {
  const hop = (event.hop ?? 0) + 1;
  if (event.stopAt === undefined || hop < event.stopAt) {
    await lambda.send(new InvokeCommand({
      FunctionName: context.functionName,
      InvocationType: 'Event',
      Payload: JSON.stringify({ ...event, hop }),
    }));
  }
  return { hop, trace: process.env._X_AMZN_TRACE_ID };
};
`;

function manifests(codeDir: string): string {
  const fn = (
    name: string,
    code: unknown,
    onSuccess: string,
    onFailure: string,
    extra: Record<string, unknown> = {},
  ) => ({
    apiVersion: 'selfless.dev/v1alpha1',
    kind: 'Function',
    metadata: { name },
    spec: {
      runtime: 'nodejs22.x',
      handler: 'index.handler',
      timeout: 30,
      code,
      ...extra,
      functionEventInvokeConfig: {
        maximumRetryAttempts: 0,
        destinationConfig: {
          onSuccess: { destination: onSuccess },
          onFailure: { destination: onFailure },
        },
      },
    },
  });
  return [
    fn('loop', { directory: codeDir }, 'queue:hops', 'queue:dropped'),
    fn(
      'relay',
      { inline: { 'index.mjs': 'export const handler = async () => ({ relayed: true });' } },
      'function:relay',
      'queue:relay-dropped',
    ),
    fn(
      'plain',
      { inline: { 'index.mjs': 'export const handler = async () => "ok";' } },
      'queue:none',
      'queue:none',
    ),
    fn(
      'declared',
      { inline: { 'index.mjs': 'export const handler = async () => "ok";' } },
      'queue:none',
      'queue:none',
      { recursiveLoop: 'Allow' },
    ),
  ]
    .map((m) => stringify(m))
    .join('---\n');
}

interface DestinationRecord {
  requestContext: { condition: string; approximateInvokeCount: number };
  requestPayload: { hop?: number; stopAt?: number };
  responsePayload: { hop?: number; trace?: string; errorType?: string; errorMessage?: string };
}

for (const mode of ['memory', 'redis'] as const) {
  describe(`recursive loop detection (${mode} event store)`, () => {
    let dir: string;
    let dev: DevServer;
    let lambda: LambdaClient;
    let redisUrl: string | undefined;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'selfless-recursion-'));
      const codeDir = join(dir, 'loop');
      mkdirSync(codeDir);
      writeFileSync(join(codeDir, 'index.mjs'), selfInvoking);
      // The function imports the repository's AWS SDK, as a deployed one bundles its own.
      symlinkSync(join(REPO, 'node_modules'), join(codeDir, 'node_modules'));
      writeFileSync(join(dir, 'functions.yaml'), manifests(codeDir));
      if (mode === 'redis') {
        redisUrl = `${(await testServices()).redisUrl}/${REDIS_DB}`;
        const r = new Redis(redisUrl);
        await r.flushdb();
        r.disconnect();
      }
      dev = await startDev({
        dir,
        port: 0,
        host: '127.0.0.1',
        idleTimeoutMs: 60_000,
        accountLimit: 1000,
        ...(redisUrl && { redisUrl }),
        log: makeLogger('dev', { level: 'error' }),
      });
      lambda = new LambdaClient({
        endpoint: dev.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
    });
    after(async () => {
      lambda?.destroy();
      await dev?.close();
      if (redisUrl) {
        const r = new Redis(redisUrl);
        await r.flushdb();
        r.disconnect();
      }
      rmSync(dir, { recursive: true, force: true });
    });

    const store = () => dev.gateway.async!.store;
    const taken = new Map<string, DestinationRecord[]>();
    /** Every record a queue destination received so far (taking them off the queue). */
    async function records(queue: string): Promise<DestinationRecord[]> {
      const got = (await store().takeFromQueue(queue, 100)).map(
        (r) => JSON.parse(r) as DestinationRecord,
      );
      const all = [...(taken.get(queue) ?? []), ...got];
      taken.set(queue, all);
      return all;
    }
    async function metric(name: string, fn: string): Promise<number> {
      const text = await (await fetch(`${dev.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && l.includes(`function="${fn}"`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    }
    const dropped = (fn: string) => metric('selfless_recursive_invocations_dropped_total', fn);

    test('GetFunctionRecursionConfig answers Terminate by default', async () => {
      const out = await lambda.send(
        new GetFunctionRecursionConfigCommand({ FunctionName: 'loop' }),
      );
      assert.equal(out.RecursiveLoop, 'Terminate');
    });

    test('a function invoking itself through the async queue is stopped after 16 invocations', async () => {
      await lambda.send(
        new InvokeCommand({ FunctionName: 'loop', InvocationType: 'Event', Payload: '{}' }),
      );
      // The 17th can be dropped before the 16th's success is recorded: wait for both.
      const [record] = await eventually(
        'the dropped event and 16 successes',
        async () => {
          const r = await records('dropped');
          return r.length > 0 && (await records('hops')).length >= 16 ? r : undefined;
        },
        120_000,
      );
      const hops = (await records('hops'))
        .map((r) => r.responsePayload.hop)
        .sort((a, b) => a! - b!);
      assert.deepEqual(
        hops,
        Array.from({ length: 16 }, (_, i) => i + 1),
        'invocations 1 to 16 ran',
      );
      assert.equal(await dropped('loop'), 1);
      assert.deepEqual(record!.requestPayload, { hop: 16 }, 'the 17th event, as the 16th sent it');
      assert.equal(record!.requestContext.condition, 'RetriesExhausted');
      assert.equal(record!.requestContext.approximateInvokeCount, 0);
      assert.equal(record!.responsePayload.errorType, 'RecursiveInvocationException');
      // The 16th ran with the function's Lineage count at 16, in the trace the first began.
      const last = taken.get('hops')!.find((r) => r.responsePayload.hop === 16)!;
      const first = taken.get('hops')!.find((r) => r.responsePayload.hop === 1)!;
      const tag = functionTag('arn:aws:lambda:us-east-1:000000000000:function:loop');
      assert.match(last.responsePayload.trace!, new RegExp(`Lineage=${tag}:16$`));
      assert.equal(
        /Root=[^;]+/.exec(last.responsePayload.trace!)![0],
        /Root=[^;]+/.exec(first.responsePayload.trace!)![0],
      );
      assert.equal(await metric('selfless_function_invocations_total', 'loop'), 16);
    });

    test('a chain through an on-success destination to the function itself is stopped too', async () => {
      await lambda.send(
        new InvokeCommand({ FunctionName: 'relay', InvocationType: 'Event', Payload: '{}' }),
      );
      await eventually(
        'the dropped relay event',
        async () =>
          (await records('relay-dropped')).length > 0 &&
          (await metric('selfless_function_invocations_total', 'relay')) >= 16
            ? true
            : undefined,
        120_000,
      );
      assert.equal(await dropped('relay'), 1);
      assert.equal(await metric('selfless_function_invocations_total', 'relay'), 16);
    });

    /** A sync Invoke carrying the function's Lineage count `n`, as from inside a function. */
    const invokeWith = (name: string, n: number) => {
      const tag = functionTag(`arn:aws:lambda:us-east-1:000000000000:function:${name}`);
      const header = `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=${tag}:${n}`;
      const client = new LambdaClient({
        endpoint: dev.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      // What the SDK's recursion detection adds inside a function.
      client.middlewareStack.add(
        (next) => (args) => {
          (args.request as { headers: Record<string, string> }).headers['X-Amzn-Trace-Id'] = header;
          return next(args);
        },
        { step: 'build' },
      );
      return client
        .send(new InvokeCommand({ FunctionName: name, Payload: '{}' }))
        .finally(() => client.destroy());
    };

    test('a synchronous Invoke whose trace has 16 invocations of the function already is refused', async () => {
      const ok = await invokeWith('plain', 15);
      assert.equal(Buffer.from(ok.Payload!).toString(), '"ok"', 'the 16th runs');
      await assert.rejects(invokeWith('plain', 16), (err: unknown) => {
        assert.ok(err instanceof RecursiveInvocationException, String(err));
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.equal(
          err.message,
          "Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation.",
        );
        return true;
      });
      assert.equal(await dropped('plain'), 1);
    });

    test("a manifest's recursiveLoop: Allow is the function's setting", async () => {
      const got = await lambda.send(
        new GetFunctionRecursionConfigCommand({ FunctionName: 'declared' }),
      );
      assert.equal(got.RecursiveLoop, 'Allow');
      const ok = await invokeWith('declared', 40);
      assert.equal(Buffer.from(ok.Payload!).toString(), '"ok"');
      assert.equal(await dropped('declared'), 0);
    });

    test('Allow, put with the SDK, lets the chain go on past 16', async () => {
      const put = await lambda.send(
        new PutFunctionRecursionConfigCommand({ FunctionName: 'loop', RecursiveLoop: 'Allow' }),
      );
      assert.equal(put.RecursiveLoop, 'Allow');
      const got = await lambda.send(
        new GetFunctionRecursionConfigCommand({ FunctionName: 'loop' }),
      );
      assert.equal(got.RecursiveLoop, 'Allow');
      taken.set('hops', []);
      await lambda.send(
        new InvokeCommand({
          FunctionName: 'loop',
          InvocationType: 'Event',
          Payload: JSON.stringify({ stopAt: 20 }),
        }),
      );
      // The function stops itself at the 20th.
      const hops = await eventually(
        '20 invocations',
        async () => {
          const r = await records('hops');
          return r.length >= 20 ? r : undefined;
        },
        120_000,
      );
      assert.deepEqual(
        hops.map((r) => r.responsePayload.hop).sort((a, b) => a! - b!),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.equal(await dropped('loop'), 1, 'nothing more dropped');
      assert.equal((await records('dropped')).length, 1);
    });

    if (mode === 'memory') {
      test('the AWS CLI puts and gets the setting; a wrong value gets Lambda validation error', async () => {
        const env = {
          ...process.env,
          AWS_ENDPOINT_URL: dev.url,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'cli',
          AWS_SECRET_ACCESS_KEY: 'cli',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        };
        const aws = async (...args: string[]) => {
          const { stdout } = await promisify(execFile)(
            awsCliBinary(),
            ['lambda', ...args, '--output', 'json'],
            { env },
          );
          return JSON.parse(stdout) as Record<string, unknown>;
        };
        assert.deepEqual(
          await aws(
            'put-function-recursion-config',
            '--function-name',
            'plain',
            '--recursive-loop',
            'Allow',
          ),
          { RecursiveLoop: 'Allow' },
        );
        assert.deepEqual(await aws('get-function-recursion-config', '--function-name', 'plain'), {
          RecursiveLoop: 'Allow',
        });
        await assert.rejects(
          aws('get-function-recursion-config', '--function-name', 'missing'),
          /ResourceNotFoundException.*Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing/s,
        );
        const raw = await fetch(`${dev.url}/2024-08-31/functions/plain/recursion-config`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ RecursiveLoop: 'Sometimes' }),
        });
        assert.equal(raw.status, 400);
        assert.equal(raw.headers.get('x-amzn-errortype'), 'ValidationException');
        assert.deepEqual(await raw.json(), {
          Type: 'User',
          message:
            "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]",
        });
        const text = await (await fetch(`${dev.url}/metrics`)).text();
        // The SDK's put above and the CLI's.
        assert.match(
          text,
          /selfless_lambda_api_requests_total\{action="PutFunctionRecursionConfig",status="200"\} 2/,
        );
      });
    }
  });
}
