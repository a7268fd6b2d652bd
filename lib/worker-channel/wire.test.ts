// Every message of the HTTP worker channel, encoded as one side sends it and decoded
// as the other receives it; the literal headers pin the protocol agents already
// deployed speak, and malformed input comes back as a WireError value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Invocation, InvocationResult } from './channel.ts';
import {
  ROUTES,
  WireError,
  decodeCancel,
  decodeGiveBack,
  decodeIdentity,
  decodeInitFailure,
  decodeInvocation,
  decodeNext,
  decodeResult,
  decodeRoute,
  decodeStreamHead,
  encodeAuthorization,
  encodeCancel,
  encodeError,
  encodeGiveBack,
  encodeIdentity,
  encodeInitFailure,
  encodeInvocation,
  encodeNext,
  encodeResult,
  encodeStreamHead,
  isAuthorized,
  routePath,
  type Decoded,
  type IncomingHeaders,
  type OutgoingHeaders,
} from './wire.ts';

/** What node:http hands the other side: header names lower-cased. */
function received(headers: OutgoingHeaders): IncomingHeaders {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function value<T>(d: Decoded<T>): T {
  if (!d.ok) throw new Error(`expected a value, got ${d.error.message}`);
  return d.value;
}

function refused<T>(d: Decoded<T>, message: string): void {
  assert.equal(d.ok, false, 'refused');
  if (d.ok) return;
  assert.ok(d.error instanceof WireError);
  assert.equal(d.error.name, 'WireError');
  assert.equal(d.error.message, message);
}

/** Header values must be printable ASCII, or node:http refuses to send them. */
function assertSendable(headers: OutgoingHeaders): void {
  for (const [name, v] of Object.entries(headers)) {
    assert.match(v, /^[\x20-\x7e]*$/, `${name} is sendable`);
  }
}

const fullInvocation: Invocation = {
  requestId: 'req-1',
  functionName: 'fn',
  functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
  payload: Buffer.from([0, 255, 10, 13, 128]),
  deadlineMs: 1_700_000_000_123,
  clientContext: JSON.stringify({ custom: { who: 'ünïcode ✓' } }),
  cognitoIdentity: '{"cognitoIdentityId":"c"}',
  traceId: 'Root=1-abc;Parent=def;Sampled=1',
  logTail: true,
};

const fullResult: InvocationResult = {
  requestId: 'req-1',
  payload: Buffer.from([0, 255, 10, 13, 128]),
  functionError: 'Handled',
  logResult: Buffer.from('START...').toString('base64'),
  durationMs: 12.34,
  billedDurationMs: 13,
  initDurationMs: 101.5,
  maxMemoryUsedMB: 42,
};

describe('worker channel wire format', () => {
  it('maps every route to its path and back, and tells foreign paths from unknown routes', () => {
    for (const route of ROUTES) {
      assert.equal(routePath(route), `/_selfless/worker/v1/${route}`);
      assert.equal(value(decodeRoute(routePath(route))!), route);
    }
    assert.equal(decodeRoute('/2015-03-31/functions/fn/invocations'), undefined);
    assert.equal(decodeRoute(''), undefined);
    refused(decodeRoute('/_selfless/worker/v1/nope')!, 'no such route: nope');
    refused(decodeRoute('/_selfless/worker/v1/next?x=1')!, 'no such route: next?x=1');
  });

  it('accepts the bearer token it encoded and nothing else', () => {
    const headers = received(encodeAuthorization('s3cret'));
    assert.deepEqual(headers, { authorization: 'Bearer s3cret' });
    assert.equal(isAuthorized(headers, 's3cret'), true);
    assert.equal(isAuthorized(headers, 'other'), false);
    assert.equal(isAuthorized({}, 's3cret'), false);
    assert.equal(isAuthorized({ authorization: 's3cret' }, 's3cret'), false);
  });

  it('carries the worker identity, and refuses a request without one', () => {
    const worker = { workerId: 'w-1', functionName: 'fn' };
    const headers = encodeIdentity(worker);
    assert.deepEqual(headers, { 'x-selfless-worker-id': 'w-1', 'x-selfless-function-name': 'fn' });
    assert.deepEqual(value(decodeIdentity(received(headers))), worker);
    const required = 'x-selfless-worker-id and x-selfless-function-name are required';
    refused(decodeIdentity({}), required);
    refused(decodeIdentity({ 'x-selfless-worker-id': 'w-1' }), required);
    refused(
      decodeIdentity({ 'x-selfless-worker-id': '', 'x-selfless-function-name': 'fn' }),
      required,
    );
    assert.deepEqual(
      value(
        decodeIdentity({
          'x-selfless-worker-id': ['w-1', 'w-2'],
          'x-selfless-function-name': 'fn',
        }),
      ),
      worker,
      'a repeated header counts once',
    );
  });

  it('names a long poll when it has an id, and sends nothing when it has none', () => {
    const named = encodeNext('poll-1');
    assert.deepEqual(named.headers, { 'x-selfless-poll-id': 'poll-1' });
    assert.equal(named.body.length, 0);
    assert.deepEqual(decodeNext(received(named.headers)), { pollId: 'poll-1' });
    const anonymous = encodeNext(undefined);
    assert.deepEqual(anonymous.headers, {});
    assert.deepEqual(decodeNext(received(anonymous.headers)), { pollId: undefined });
  });

  it('carries an invocation field for field, binary payload and non-ASCII context included', () => {
    const msg = encodeInvocation(fullInvocation);
    assert.deepEqual(msg.headers, {
      'Content-Type': 'application/octet-stream',
      'x-selfless-request-id': 'req-1',
      'x-selfless-function-name': 'fn',
      'x-selfless-function-arn': 'arn:aws:lambda:us-east-1:000000000000:function:fn',
      'x-selfless-deadline-ms': '1700000000123',
      'x-selfless-log-tail': '1',
      'x-selfless-client-context': Buffer.from(fullInvocation.clientContext!).toString('base64'),
      'x-selfless-cognito-identity': Buffer.from(fullInvocation.cognitoIdentity!).toString(
        'base64',
      ),
      'x-selfless-trace-id': 'Root=1-abc;Parent=def;Sampled=1',
    });
    assertSendable(msg.headers);
    assert.deepEqual(value(decodeInvocation(received(msg.headers), msg.body)), fullInvocation);
  });

  it('carries an invocation without its optional fields, adding none', () => {
    const minimal: Invocation = {
      requestId: 'req-2',
      functionName: 'fn',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
      payload: Buffer.alloc(0),
      deadlineMs: 0,
      logTail: false,
    };
    const msg = encodeInvocation(minimal);
    assert.equal(msg.headers['x-selfless-log-tail'], '0');
    assert.deepEqual(value(decodeInvocation(received(msg.headers), msg.body)), minimal);
  });

  it('refuses an invocation missing its identity or with a deadline that is not a time', () => {
    const headers = received(encodeInvocation(fullInvocation).headers);
    for (const name of [
      'x-selfless-request-id',
      'x-selfless-function-name',
      'x-selfless-function-arn',
      'x-selfless-deadline-ms',
    ]) {
      const { [name]: _, ...rest } = headers;
      refused(decodeInvocation(rest, Buffer.alloc(0)), `${name} is required`);
    }
    refused(
      decodeInvocation({ ...headers, 'x-selfless-deadline-ms': 'soon' }, Buffer.alloc(0)),
      'x-selfless-deadline-ms must be a non-negative number',
    );
  });

  it('carries a cancel and refuses one without its poll id', () => {
    const msg = encodeCancel('poll-1');
    assert.deepEqual(msg.headers, { 'x-selfless-poll-id': 'poll-1' });
    assert.equal(msg.body.length, 0);
    assert.deepEqual(value(decodeCancel(received(msg.headers))), { pollId: 'poll-1' });
    refused(decodeCancel({}), 'x-selfless-poll-id is required');
    refused(decodeCancel({ 'x-selfless-poll-id': '' }), 'x-selfless-poll-id is required');
  });

  it('carries a give-back and refuses one without its request id', () => {
    const msg = encodeGiveBack('req-1');
    assert.deepEqual(msg.headers, { 'x-selfless-request-id': 'req-1' });
    assert.equal(msg.body.length, 0);
    assert.deepEqual(value(decodeGiveBack(received(msg.headers))), { requestId: 'req-1' });
    refused(decodeGiveBack({}), 'x-selfless-request-id is required');
  });

  it('carries a result field for field, fractional durations included', () => {
    const msg = encodeResult(fullResult);
    assert.deepEqual(msg.headers, {
      'Content-Type': 'application/octet-stream',
      'x-selfless-request-id': 'req-1',
      'x-selfless-duration-ms': '12.34',
      'x-selfless-billed-duration-ms': '13',
      'x-selfless-max-memory-used-mb': '42',
      'x-selfless-function-error': 'Handled',
      'x-selfless-init-duration-ms': '101.5',
      'x-selfless-log-result': fullResult.logResult,
    });
    assertSendable(msg.headers);
    assert.deepEqual(value(decodeResult(received(msg.headers), msg.body)), fullResult);
    const unhandled: InvocationResult = { ...fullResult, functionError: 'Unhandled' };
    const again = encodeResult(unhandled);
    assert.deepEqual(value(decodeResult(received(again.headers), again.body)), unhandled);
  });

  it('carries a result without its optional fields, adding none', () => {
    const minimal: InvocationResult = {
      requestId: 'req-2',
      payload: Buffer.from('null'),
      durationMs: 0,
      billedDurationMs: 1,
      maxMemoryUsedMB: 0,
    };
    const msg = encodeResult(minimal);
    assert.deepEqual(value(decodeResult(received(msg.headers), msg.body)), minimal);
  });

  it('carries a stream head, defaulting its content type, and the streamed mark of its result', () => {
    const headers = encodeStreamHead({ requestId: 'req-1', contentType: 'text/event-stream' });
    assert.deepEqual(headers, {
      'Content-Type': 'application/octet-stream',
      'x-selfless-request-id': 'req-1',
      'x-selfless-stream-content-type': 'text/event-stream',
    });
    assert.deepEqual(value(decodeStreamHead(received(headers))), {
      requestId: 'req-1',
      contentType: 'text/event-stream',
    });
    assert.equal(
      value(decodeStreamHead({ 'x-selfless-request-id': 'r' })).contentType,
      'application/octet-stream',
    );
    refused(decodeStreamHead({}), 'x-selfless-request-id is required');
    const streamed: InvocationResult = { ...fullResult, payload: Buffer.alloc(0), streamed: true };
    const msg = encodeResult(streamed);
    assert.equal(msg.headers['x-selfless-streamed'], '1');
    assert.deepEqual(value(decodeResult(received(msg.headers), msg.body)), streamed);
  });

  it('refuses a result missing a required header, with a bad number or an unknown error kind', () => {
    const headers = received(encodeResult(fullResult).headers);
    const body = Buffer.alloc(0);
    for (const name of [
      'x-selfless-request-id',
      'x-selfless-duration-ms',
      'x-selfless-billed-duration-ms',
      'x-selfless-max-memory-used-mb',
    ]) {
      const { [name]: _, ...rest } = headers;
      refused(decodeResult(rest, body), `${name} is required`);
    }
    for (const name of [
      'x-selfless-duration-ms',
      'x-selfless-billed-duration-ms',
      'x-selfless-max-memory-used-mb',
      'x-selfless-init-duration-ms',
    ]) {
      for (const bad of ['-1', 'abc', 'Infinity', 'NaN']) {
        refused(
          decodeResult({ ...headers, [name]: bad }, body),
          `${name} must be a non-negative number`,
        );
      }
    }
    refused(
      decodeResult({ ...headers, 'x-selfless-function-error': 'Crashed' }, body),
      'x-selfless-function-error must be Unhandled or Handled',
    );
  });

  it('carries an init failure as JSON, and refuses a body that is not one', () => {
    const error = { errorType: 'Runtime.ImportModuleError', errorMessage: 'ünïcode ✓' };
    const msg = encodeInitFailure(error);
    assert.deepEqual(msg.headers, { 'Content-Type': 'application/json' });
    assert.equal(msg.body.toString('utf8'), JSON.stringify(error));
    assert.deepEqual(value(decodeInitFailure(msg.body)), error);
    assert.deepEqual(value(decodeInitFailure(Buffer.from('{"errorType":"T"}'))), {
      errorType: 'T',
      errorMessage: '',
    });
    const wrong = 'body must be JSON {errorType, errorMessage}';
    for (const body of ['', 'not json', 'null', '[]', '"T"', '{"errorType":3}', '{}']) {
      refused(decodeInitFailure(Buffer.from(body)), wrong);
    }
    refused(decodeInitFailure(Buffer.from([0xff, 0xfe, 0x00])), wrong);
  });

  it('encodes an error answer as JSON {message}', () => {
    const msg = encodeError('use POST');
    assert.deepEqual(msg.headers, { 'Content-Type': 'application/json' });
    assert.deepEqual(JSON.parse(msg.body.toString('utf8')), { message: 'use POST' });
  });

  it('answers every malformed input with a value, never a throw', () => {
    const odd: IncomingHeaders[] = [
      {},
      { 'x-selfless-request-id': [] },
      { 'x-selfless-request-id': ['', 'r'], 'x-selfless-duration-ms': ['1', 'x'] },
      Object.fromEntries(
        Object.values(received(encodeResult(fullResult).headers)).map((v) => [v, v]),
      ),
    ];
    const bodies = [Buffer.alloc(0), Buffer.from([0xff, 0x00, 0x7b]), Buffer.from('{"a":')];
    for (const headers of odd) {
      for (const body of bodies) {
        for (const d of [
          decodeIdentity(headers),
          decodeInvocation(headers, body),
          decodeCancel(headers),
          decodeGiveBack(headers),
          decodeResult(headers, body),
          decodeInitFailure(body),
        ]) {
          assert.equal(typeof d.ok, 'boolean');
          if (!d.ok) assert.ok(d.error instanceof WireError);
        }
        assert.equal(typeof decodeNext(headers), 'object');
      }
    }
  });
});
