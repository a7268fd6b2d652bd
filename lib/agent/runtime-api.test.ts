// Every route, header and status code of the Runtime API, spoken by the test itself:
// the function's `provided` bootstrap only sleeps, and fetch plays the runtime.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RESPONSE_BYTES } from './runtime-api.ts';
import { json, withAgent } from '../../test/support/agent.ts';

const sleeper = {
  spec: { runtime: 'provided' },
  files: { bootstrap: '#!/bin/sh\nexec sleep 600\n' },
};

async function call(
  api: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers?: Record<string, string>,
) {
  const res = await fetch(`http://${api}/2018-06-01/runtime/${path}`, { method, body, headers });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

describe('Runtime API', () => {
  it('serves next with the Lambda headers, accepts one response per event and refuses the rest', async () => {
    await withAgent(sleeper, async ({ agent, channel }) => {
      const api = agent.runtimeApiAddress!;

      const early = await call(api, 'POST', 'invocation/some-id/response', '{}');
      assert.equal(early.status, 403, 'no response before the first next');
      assert.equal(early.body!.errorType, 'InvalidStateTransition');

      const pending = channel.invoke(
        { hello: 'world' },
        {
          clientContext: JSON.stringify({ custom: { a: 1 } }),
          cognitoIdentity: JSON.stringify({ cognitoIdentityId: 'id-1' }),
          traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793',
        },
      );
      const next = await fetch(`http://${api}/2018-06-01/runtime/invocation/next`);
      assert.equal(next.status, 200);
      const id = next.headers.get('lambda-runtime-aws-request-id')!;
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.ok(Number(next.headers.get('lambda-runtime-deadline-ms')) > Date.now());
      assert.equal(
        next.headers.get('lambda-runtime-invoked-function-arn'),
        'arn:aws:lambda:us-east-1:000000000000:function:fixture-fn',
      );
      assert.equal(
        next.headers.get('lambda-runtime-trace-id'),
        'Root=1-5759e988-bd862e3fe1be46a994272793',
      );
      assert.equal(next.headers.get('lambda-runtime-client-context'), '{"custom":{"a":1}}');
      assert.equal(
        next.headers.get('lambda-runtime-cognito-identity'),
        '{"cognitoIdentityId":"id-1"}',
      );
      assert.equal(next.headers.get('content-type'), 'application/json');
      assert.deepEqual(await next.json(), { hello: 'world' });

      const wrong = await call(api, 'POST', 'invocation/not-the-id/response', '{}');
      assert.equal(wrong.status, 400);
      assert.deepEqual(wrong.body, {
        errorMessage: 'Invalid request ID',
        errorType: 'InvalidRequestID',
      });

      const ok = await call(api, 'POST', `invocation/${id}/response`, '{"answer":42}');
      assert.equal(ok.status, 202);
      assert.deepEqual(ok.body, { status: 'OK' });
      const result = await pending;
      assert.equal(result.requestId, id);
      assert.equal(result.payload.toString(), '{"answer":42}');
      assert.equal(result.functionError, undefined);
      assert.ok(result.initDurationMs! > 0);

      const again = await call(api, 'POST', `invocation/${id}/response`, '{}');
      assert.equal(again.status, 400, 'an answered id is no longer valid');
      const againError = await call(api, 'POST', `invocation/${id}/error`, '{}');
      assert.equal(againError.status, 400);

      const lateInit = await call(
        api,
        'POST',
        'init/error',
        '{"errorType":"X","errorMessage":"y"}',
      );
      assert.equal(lateInit.status, 403, 'init/error only during init');
      assert.equal(lateInit.body!.errorType, 'InvalidStateTransition');

      const notFound = await call(api, 'GET', 'invocation/unknown');
      assert.equal(notFound.status, 404);
    });
  });

  it('passes an error POST through as an Unhandled function error', async () => {
    await withAgent(sleeper, async ({ agent, channel }) => {
      const api = agent.runtimeApiAddress!;
      const pending = channel.invoke({});
      const next = await fetch(`http://${api}/2018-06-01/runtime/invocation/next`);
      const id = next.headers.get('lambda-runtime-aws-request-id')!;
      await next.arrayBuffer();
      const doc = { errorType: 'MyError', errorMessage: 'it broke', trace: ['MyError: it broke'] };
      const posted = await call(api, 'POST', `invocation/${id}/error`, JSON.stringify(doc), {
        'Lambda-Runtime-Function-Error-Type': 'MyError',
      });
      assert.equal(posted.status, 202);
      const result = await pending;
      assert.equal(result.functionError, 'Unhandled');
      assert.deepEqual(json(result.payload), doc);
    });
  });

  it('refuses a response over 6 MB with 413 and fails the call with Function.ResponseSizeTooLarge', async () => {
    await withAgent(sleeper, async ({ agent, channel }) => {
      const api = agent.runtimeApiAddress!;
      const pending = channel.invoke({});
      const next = await fetch(`http://${api}/2018-06-01/runtime/invocation/next`);
      const id = next.headers.get('lambda-runtime-aws-request-id')!;
      await next.arrayBuffer();
      const size = MAX_RESPONSE_BYTES + 1;
      const big = await call(api, 'POST', `invocation/${id}/response`, Buffer.alloc(size, 0x61));
      assert.equal(big.status, 413);
      assert.deepEqual(big.body, {
        errorMessage: `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
        errorType: 'RequestEntityTooLarge',
      });
      const result = await pending;
      assert.equal(result.functionError, 'Unhandled');
      assert.deepEqual(json(result.payload), {
        errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
        errorType: 'Function.ResponseSizeTooLarge',
      });

      // Exactly at the limit is still accepted.
      const pending2 = channel.invoke({});
      const next2 = await fetch(`http://${api}/2018-06-01/runtime/invocation/next`);
      const id2 = next2.headers.get('lambda-runtime-aws-request-id')!;
      await next2.arrayBuffer();
      const edge = await call(
        api,
        'POST',
        `invocation/${id2}/response`,
        Buffer.alloc(MAX_RESPONSE_BYTES, 0x61),
      );
      assert.equal(edge.status, 202);
      assert.equal((await pending2).payload.length, MAX_RESPONSE_BYTES);
    });
  });

  it('takes init/error once during init, then refuses next with 403', async () => {
    await withAgent(sleeper, async ({ agent, channel }) => {
      const api = agent.runtimeApiAddress!;
      const posted = await call(
        api,
        'POST',
        'init/error',
        JSON.stringify({ errorType: 'Runtime.ImportModuleError', errorMessage: 'no module' }),
        { 'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError' },
      );
      assert.equal(posted.status, 202);
      assert.deepEqual(posted.body, { status: 'OK' });
      while (channel.initFailures.length === 0) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(channel.initFailures[0]!.error, {
        errorType: 'Runtime.ImportModuleError',
        errorMessage: 'no module',
      });
    });
  });

  it('answers 403 to next and init/error after an init error, while that runtime still runs', async () => {
    // The agent kills a runtime after its init error; a slow kill leaves a window in
    // which the old session must keep refusing. Driven on the server directly.
    const { RuntimeApi } = await import('./runtime-api.ts');
    const api = await RuntimeApi.start();
    const seen: string[] = [];
    api.reset({
      ready: () => seen.push('ready'),
      initError: (e) => seen.push(`init-error ${e.errorType}`),
      response: () => seen.push('response'),
      error: () => seen.push('error'),
      responseTooLarge: () => seen.push('too-large'),
    });
    try {
      const first = await call(
        api.address,
        'POST',
        'init/error',
        '{"errorType":"E","errorMessage":"m"}',
      );
      assert.equal(first.status, 202);
      const second = await call(api.address, 'POST', 'init/error', '{}');
      assert.equal(second.status, 403);
      const next = await call(api.address, 'GET', 'invocation/next');
      assert.equal(next.status, 403);
      assert.equal(next.body!.errorType, 'InvalidStateTransition');
      const response = await call(api.address, 'POST', 'invocation/x/response', '{}');
      assert.equal(response.status, 403);
      assert.deepEqual(seen, ['init-error E']);
    } finally {
      await api.close();
    }
  });
});
