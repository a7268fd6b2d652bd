// Function URLs and response streaming on the real cluster, deployed and called as a
// user of Lambda would: the AWS SDK creates Node.js functions from zips and a URL
// (AuthType NONE) that plain HTTP reaches through the gateway's NodePort, by path and by
// Host; InvokeWithResponseStream and a RESPONSE_STREAM URL read a handler that writes
// with pauses, and each piece arrives on its own, before the handler writes the next.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import {
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionCommand,
  InvokeWithResponseStreamCommand,
  waitUntilFunctionActiveV2,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { e2eCluster, eventually, lambdaClient, type E2eCluster } from './support.ts';

const mtime = new Date('2026-01-01T00:00:00Z');

const WEB = `export const handler = async (event) => ({
  statusCode: 201,
  headers: { 'content-type': 'application/json', 'x-served-by': 'selfless' },
  cookies: ['a=1'],
  body: JSON.stringify(event),
});`;

// Each piece carries the handler's clock when it was written; the pause is the
// handler's own, so the test has something to measure arrivals against.
const PIECES = 4;
const PAUSE_MS = 1000;
const STREAMER = `const pause = (ms) => new Promise((r) => setTimeout(r, ms));
export const handler = awslambda.streamifyResponse(async (event, stream) => {
  stream = awslambda.HttpResponseStream.from(stream, {
    statusCode: 200,
    headers: { 'content-type': 'application/x-ndjson' },
  });
  for (let i = 0; i < ${PIECES}; i++) {
    if (i > 0) await pause(${PAUSE_MS});
    stream.write(JSON.stringify({ i, t: Date.now() }) + '\\n');
  }
  stream.end();
});`;

interface Piece {
  i: number;
  /** The handler's clock when it wrote the piece. */
  t: number;
  /** This process's clock when the piece arrived (the same host's clock as the pod's). */
  arrived: number;
}

/** The pieces of newline-delimited JSON in the order they arrived, one read at a time. */
function piecesOf(reads: { text: string; at: number }[]): { pieces: Piece[] } {
  const pieces: Piece[] = [];
  let rest = '';
  for (const r of reads) {
    rest += r.text;
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const l of lines)
      pieces.push({ ...(JSON.parse(l) as { i: number; t: number }), arrived: r.at });
  }
  assert.equal(rest, '', 'the stream ends with a whole piece');
  return { pieces };
}

/** Each piece arrived before the handler wrote the next one: streamed, not buffered. */
function assertStreamed(pieces: Piece[]): void {
  assert.deepEqual(
    pieces.map((p) => p.i),
    [...Array(PIECES).keys()],
  );
  for (let k = 0; k + 1 < pieces.length; k++) {
    assert.ok(
      pieces[k]!.arrived < pieces[k + 1]!.t,
      `piece ${k} arrived at ${pieces[k]!.arrived}, after the handler wrote piece ${k + 1} at ${pieces[k + 1]!.t}`,
    );
  }
}

/** One request with node:http (fetch may not set Host); the body as it arrived, read by read. */
function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  reads: { text: string; at: number }[];
}> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const reads: { text: string; at: number }[] = [];
      res.setEncoding('utf8');
      res.on('data', (text: string) => reads.push({ text, at: Date.now() }));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, reads }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const bodyOf = (r: { reads: { text: string }[] }) => r.reads.map((x) => x.text).join('');

describe('Function URLs and response streaming on a real cluster', () => {
  let c: E2eCluster;
  let lambda: LambdaClient;
  const suffix = Date.now();
  const web = `e2e-url-${suffix}`;
  const streamer = `e2e-stream-${suffix}`;

  const create = async (name: string, code: string) => {
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: 'arn:aws:iam::000000000000:role/any',
        Code: { ZipFile: zipSync({ 'index.mjs': [strToU8(code), { mtime }] }) },
        Timeout: 30,
      }),
    );
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 300 }, { FunctionName: name });
  };

  before(async () => {
    c = e2eCluster();
    lambda = lambdaClient(c);
    await Promise.all([create(web, WEB), create(streamer, STREAMER)]);
  });

  after(async () => {
    for (const name of [web, streamer])
      await lambda.send(new DeleteFunctionCommand({ FunctionName: name })).catch(() => undefined);
  });

  test('a Function URL with AuthType NONE is served over plain HTTP by the gateway, by path and by Host', async () => {
    const url = await lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: web, AuthType: 'NONE' }),
    );
    assert.match(url.FunctionUrl!, new RegExp(`^${c.gatewayUrl}/_url/[a-z0-9]{32}/$`));
    const id = url.FunctionUrl!.split('/')[4]!;

    // The first call may meet a worker-less function: the gateway waits for the cold start.
    const t0 = Date.now();
    const reply = await call(`${url.FunctionUrl}some/path?a=1&a=2`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    process.stderr.write(
      `[e2e] first URL call answered ${reply.status} in ${Date.now() - t0} ms\n`,
    );
    assert.equal(reply.status, 201, bodyOf(reply));
    assert.equal(reply.headers['x-served-by'], 'selfless');
    assert.deepEqual(reply.headers['set-cookie'], ['a=1']);
    const event = JSON.parse(bodyOf(reply)) as {
      version: string;
      rawPath: string;
      rawQueryString: string;
      body: string;
      requestContext: { apiId: string; http: { method: string } };
    };
    assert.equal(event.version, '2.0');
    assert.equal(event.rawPath, '/some/path');
    assert.equal(event.rawQueryString, 'a=1&a=2');
    assert.equal(event.body, 'hello');
    assert.equal(event.requestContext.apiId, id);
    assert.equal(event.requestContext.http.method, 'POST');

    // Every gateway replica serves it (the URL is in the Function resource): several calls.
    for (let k = 0; k < 4; k++) {
      const byHost = await call(`${c.gatewayUrl}/by/host`, {
        headers: { host: `${id}.lambda-url.${c.region}.on.aws` },
      });
      assert.equal(byHost.status, 201, bodyOf(byHost));
      assert.equal((JSON.parse(bodyOf(byHost)) as { rawPath: string }).rawPath, '/by/host');
    }
  });

  test('InvokeWithResponseStream passes each piece on as the handler writes it', async () => {
    // Warm first, so the pieces' timing is the handler's, not a cold start's.
    await eventually('the streamer answers', async () => {
      const out = await lambda.send(
        new InvokeWithResponseStreamCommand({ FunctionName: streamer }),
      );
      for await (const _ of out.EventStream!);
      return out.StatusCode === 200 ? true : undefined;
    });
    const out = await lambda.send(
      new InvokeWithResponseStreamCommand({ FunctionName: streamer, Payload: '{}' }),
    );
    assert.equal(out.StatusCode, 200);
    const reads: { text: string; at: number }[] = [];
    let complete: { ErrorCode?: string } | undefined;
    for await (const e of out.EventStream!) {
      if (e.PayloadChunk?.Payload)
        reads.push({ text: Buffer.from(e.PayloadChunk.Payload).toString(), at: Date.now() });
      if (e.InvokeComplete) complete = e.InvokeComplete;
    }
    assert.ok(complete, 'the stream ends with InvokeComplete');
    assert.equal(complete.ErrorCode, undefined);
    // The stream starts with the HttpResponseStream prelude and its eight NULs, in one
    // PayloadChunk or several (as the runtime's writes fell): the pieces come after.
    const DELIMITER = '\0'.repeat(8);
    let head = '';
    let at = 0;
    while (reads.length > 0 && !head.includes(DELIMITER)) {
      const r = reads.shift()!;
      head += r.text;
      at = r.at;
    }
    const end = head.indexOf(DELIMITER);
    assert.ok(end > 0, 'the prelude is streamed first');
    assert.deepEqual(JSON.parse(head.slice(0, end)), {
      statusCode: 200,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    // What followed the delimiter in its chunk arrived with it.
    reads.unshift({ text: head.slice(end + DELIMITER.length), at });
    const { pieces } = piecesOf(reads.filter((r) => r.text !== ''));
    assertStreamed(pieces);
    process.stderr.write(
      `[e2e] InvokeWithResponseStream: pieces arrived ${pieces.map((p) => p.arrived - p.t).join(', ')} ms after the handler wrote them\n`,
    );
  });

  test('a RESPONSE_STREAM Function URL answers the prelude status and headers and streams the body read by read', async () => {
    const url = await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: streamer,
        AuthType: 'NONE',
        InvokeMode: 'RESPONSE_STREAM',
      }),
    );
    const reply = await call(url.FunctionUrl!);
    assert.equal(reply.status, 200, bodyOf(reply));
    assert.equal(reply.headers['content-type'], 'application/x-ndjson');
    const { pieces } = piecesOf(reply.reads);
    assertStreamed(pieces);
    process.stderr.write(
      `[e2e] RESPONSE_STREAM URL: pieces arrived ${pieces.map((p) => p.arrived - p.t).join(', ')} ms after the handler wrote them\n`,
    );
  });
});
