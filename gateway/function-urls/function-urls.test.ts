// Function URLs end to end: configured with the real AWS SDK (signed, as the gateway
// checks SigV4), called over plain HTTP on the gateway by path prefix and by Host,
// with real Node.js runtimes in this process (the process driver of `selfless dev`).
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateFunctionUrlConfigCommand,
  DeleteFunctionUrlConfigCommand,
  GetFunctionUrlConfigCommand,
  LambdaClient,
  ListFunctionUrlConfigsCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateFunctionUrlConfigCommand,
} from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseFunctionSpec, type FunctionDefinition } from '../../lib/function.ts';
import { makeLogger } from '../../lib/log.ts';
import { makeGateway, type Gateway } from '../app.ts';
import { makeSigV4Authenticator } from '../auth.ts';
import { makeProcessDriver } from '../drivers/process.ts';
import { FunctionRegistry } from '../registry.ts';

const KEY = { accessKeyId: 'AKIDURLTEST', secretAccessKey: 'url-test-secret' };

const WEB = `
let calls = 0;
export const handler = async (event) => {
  calls++;
  if (event.rawPath === '/calls') return { calls };
  if (event.rawPath === '/error') throw new Error('boom');
  if (event.rawPath === '/bare') return { hello: 'world' };
  return {
    statusCode: 201,
    headers: { 'x-custom': 'yes', 'access-control-allow-origin': 'https://evil.example' },
    cookies: ['a=1', 'b=2; Path=/'],
    body: JSON.stringify(event),
  };
};
`;

const STREAMER = `
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 207,
    headers: { 'content-type': 'text/plain', 'x-streamed': 'yes' },
    cookies: ['s=1'],
  });
  stream.write('first;');
  // Held open by the test until it has seen the first chunk.
  await fetch(event.queryStringParameters.release);
  stream.end('last');
});
`;

const ROUTED = `
export const handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.pathParameters.how === 'plain') {
    responseStream.setContentType('text/event-stream');
    responseStream.write('data: 1\\n\\n');
    responseStream.end('data: 2\\n\\n');
    return;
  }
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 203,
    headers: { 'content-type': 'text/plain' },
  });
  stream.write('a');
  stream.end('b');
});
`;

/** An HTTP endpoint the handler calls and the test answers when it chooses. */
class Gate {
  readonly server: Server = createServer((_req, res) => {
    this.held.push(res);
    this.arrived?.();
  });
  private held: ServerResponse[] = [];
  private arrived: (() => void) | undefined;
  url = '';
  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await new Promise((r) => this.server.once('listening', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }
  async reached(): Promise<void> {
    while (this.held.length === 0) await new Promise<void>((r) => (this.arrived = r));
  }
  release(): void {
    for (const res of this.held.splice(0)) res.end('go');
  }
  close(): void {
    this.release();
    this.server.close();
  }
}

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data) =>
  typeof d === 'string'
    ? Buffer.from(d)
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);
class Sha256 {
  private h = createHash('sha256');
  private hmac?: ReturnType<typeof createHmac>;
  constructor(secret?: Data) {
    if (secret) this.hmac = createHmac('sha256', bytes(secret));
  }
  update(data: Data) {
    (this.hmac ?? this.h).update(bytes(data));
  }
  async digest() {
    return new Uint8Array((this.hmac ?? this.h).digest());
  }
}

/** The members of the payload 2.0 event the tests read. */
interface UrlEvent {
  version: string;
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  queryStringParameters: Record<string, string>;
  cookies: string[];
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
  requestContext: {
    apiId: string;
    domainPrefix: string;
    accountId: string;
    stage: string;
    requestId: string;
    http: { method: string; path: string };
    authorizer: { iam: { accessKey: string } };
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with node:http (fetch may not set Host). */
function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('Function URLs', () => {
  let gateway: Gateway;
  let server: Server;
  let base: string;
  let lambda: LambdaClient;
  let root: string;
  const gate = new Gate();

  const define = (name: string, code: string, extra: Record<string, unknown> = {}) => {
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.mjs'), code);
    const spec = parseFunctionSpec({
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { directory: dir },
      timeout: 30,
      ...extra,
    });
    assert.ok(spec.ok, JSON.stringify(!spec.ok && spec.errors));
    return { name, namespace: 'default', spec: spec.value } satisfies FunctionDefinition;
  };

  before(async () => {
    await gate.start();
    root = mkdtempSync(join(tmpdir(), 'selfless-urls-'));
    const registry = new FunctionRegistry();
    registry.put(define('web', WEB));
    registry.put(define('streamer', STREAMER));
    registry.put(define('declared', WEB, { functionUrl: { authType: 'NONE' } }));
    registry.put(
      define('routed', ROUTED, { triggers: [{ http: { method: 'GET', path: '/routed/{how}' } }] }),
    );
    const log = makeLogger('gateway', { level: 'error' });
    gateway = makeGateway({
      registry,
      log,
      driver: makeProcessDriver({ log, env: {}, scratchDir: root }),
      authenticate: makeSigV4Authenticator({ [KEY.accessKeyId]: KEY.secretAccessKey }),
    });
    server = gateway.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    lambda = new LambdaClient({
      endpoint: base,
      region: 'us-east-1',
      credentials: KEY,
      maxAttempts: 1,
    });
  });
  after(async () => {
    lambda.destroy();
    gate.close();
    await gateway.close();
    server.closeAllConnections();
    server.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('CreateFunctionUrlConfig gives a URL on this gateway that serves the payload 2.0 event and maps the response', async () => {
    const created = await lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'web', AuthType: 'NONE' }),
    );
    assert.equal(created.AuthType, 'NONE');
    assert.equal(created.InvokeMode, 'BUFFERED');
    assert.equal(created.FunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:web');
    assert.match(created.FunctionUrl!, new RegExp(`^${base}/_url/[a-z0-9]{32}/$`));
    assert.ok(created.CreationTime);

    const reply = await call(`${created.FunctionUrl}some/path?a=1&a=2&b=x`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', cookie: 'c1=v1; c2=v2', 'x-multi': 'one' },
      body: 'hello',
    });
    assert.equal(reply.status, 201);
    assert.equal(reply.headers['x-custom'], 'yes');
    assert.deepEqual(reply.headers['set-cookie'], ['a=1', 'b=2; Path=/']);
    const event = JSON.parse(reply.body) as UrlEvent;
    assert.equal(event.version, '2.0');
    assert.equal(event.routeKey, '$default');
    assert.equal(event.rawPath, '/some/path');
    assert.equal(event.rawQueryString, 'a=1&a=2&b=x');
    assert.deepEqual(event.queryStringParameters, { a: '1,2', b: 'x' });
    assert.deepEqual(event.cookies, ['c1=v1', 'c2=v2']);
    assert.equal(event.headers['x-multi'], 'one');
    assert.equal(event.body, 'hello');
    assert.equal(event.isBase64Encoded, false);
    const id = created.FunctionUrl!.split('/')[4];
    assert.equal(event.requestContext.apiId, id);
    assert.equal(event.requestContext.domainPrefix, id);
    assert.equal(event.requestContext.accountId, 'anonymous');
    assert.equal(event.requestContext.http.method, 'POST');
    assert.equal(event.requestContext.http.path, '/some/path');
    assert.equal(event.requestContext.stage, '$default');
    assert.equal(reply.headers['x-amzn-requestid'], event.requestContext.requestId);

    // The same URL by Host, as a wildcard DNS name in front of the gateway would send it.
    const byHost = await call(`${base}/bare`, {
      headers: { host: `${id}.lambda-url.us-east-1.on.aws` },
    });
    assert.equal(byHost.status, 200);
    assert.equal(byHost.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(byHost.body), { hello: 'world' });

    const failed = await call(`${created.FunctionUrl}error`);
    assert.equal(failed.status, 502);
    assert.deepEqual(JSON.parse(failed.body), { Message: 'Internal Server Error' });

    const binary = await call(`${created.FunctionUrl}bin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: '\u0001\u0002',
    });
    const binEvent = JSON.parse(binary.body) as UrlEvent;
    assert.equal(binEvent.isBase64Encoded, true);
    assert.equal(Buffer.from(binEvent.body, 'base64').toString(), '\u0001\u0002');
  });

  test('Get, Update, List and Delete answer as Lambda does, with its errors', async () => {
    await assert.rejects(
      lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'web', AuthType: 'NONE' })),
      ResourceConflictException,
    );
    const got = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'web' }));
    assert.ok(got.LastModifiedTime);
    const updated = await lambda.send(
      new UpdateFunctionUrlConfigCommand({
        FunctionName: 'web',
        Cors: { AllowOrigins: ['https://app.example'], MaxAge: 60 },
      }),
    );
    assert.equal(updated.AuthType, 'NONE', 'members not given are kept');
    assert.deepEqual(updated.Cors, { AllowOrigins: ['https://app.example'], MaxAge: 60 });
    assert.equal(updated.FunctionUrl, got.FunctionUrl, 'the URL never changes');
    const listed = await lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: 'web' }));
    assert.equal(listed.FunctionUrlConfigs!.length, 1);
    assert.equal(listed.FunctionUrlConfigs![0]!.FunctionUrl, got.FunctionUrl);

    await assert.rejects(
      lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'streamer' })),
      ResourceNotFoundException,
    );
    await assert.rejects(
      lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'web', Qualifier: '1' })),
      (err: Error) => err.name === 'ValidationException',
    );
    await assert.rejects(
      lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'web', Qualifier: 'live' })),
      ResourceNotFoundException,
    );
    await assert.rejects(
      lambda.send(
        new CreateFunctionUrlConfigCommand({
          FunctionName: 'streamer',
          AuthType: 'OPEN' as 'NONE',
        }),
      ),
      (err: Error) => err.name === 'ValidationException',
    );
    await assert.rejects(
      lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'nope', AuthType: 'NONE' })),
      ResourceNotFoundException,
    );
  });

  test("CORS: the gateway answers a preflight itself, adds its headers for an allowed origin and replaces the function's", async () => {
    const { FunctionUrl } = await lambda.send(
      new UpdateFunctionUrlConfigCommand({
        FunctionName: 'web',
        Cors: {
          AllowOrigins: ['https://app.example'],
          AllowMethods: ['GET', 'POST'],
          AllowHeaders: ['x-token'],
          ExposeHeaders: ['x-custom'],
          AllowCredentials: true,
          MaxAge: 300,
        },
      }),
    );
    const before = JSON.parse((await call(`${FunctionUrl}calls`)).body).calls as number;
    const preflight = await call(`${FunctionUrl}calls`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-token',
      },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(preflight.headers['access-control-allow-methods'], 'GET,POST');
    assert.equal(preflight.headers['access-control-allow-headers'], 'x-token');
    assert.equal(preflight.headers['access-control-allow-credentials'], 'true');
    assert.equal(preflight.headers['access-control-max-age'], '300');
    const afterPreflight = JSON.parse((await call(`${FunctionUrl}calls`)).body).calls as number;
    assert.equal(afterPreflight, before + 1, 'the preflight did not invoke the function');

    const allowed = await call(`${FunctionUrl}x`, { headers: { origin: 'https://app.example' } });
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(allowed.headers['access-control-expose-headers'], 'x-custom');
    const other = await call(`${FunctionUrl}x`, { headers: { origin: 'https://other.example' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  test('RESPONSE_STREAM: the prelude of HttpResponseStream.from sets the status, and the first bytes arrive while the handler waits', async () => {
    const { FunctionUrl } = await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'streamer',
        AuthType: 'NONE',
        InvokeMode: 'RESPONSE_STREAM',
      }),
    );
    const res = await fetch(`${FunctionUrl}?release=${encodeURIComponent(gate.url)}`);
    assert.equal(res.status, 207);
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(res.headers.get('x-streamed'), 'yes');
    assert.equal(res.headers.get('set-cookie'), 's=1');
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), 'first;');
    // The handler cannot have finished: it waits on the gate, which opens only now.
    await gate.reached();
    gate.release();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += Buffer.from(value).toString();
    }
    assert.equal(rest, 'last');
  });

  test('an HTTP route passes a streamed response on, its prelude setting the status', async () => {
    const framed = await call(`${base}/routed/framed`);
    assert.equal(framed.status, 203);
    assert.equal(framed.headers['content-type'], 'text/plain');
    assert.equal(framed.body, 'ab');
    const plain = await call(`${base}/routed/plain`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-type'], 'text/event-stream');
    assert.equal(plain.body, 'data: 1\n\ndata: 2\n\n');
  });

  test('AWS_IAM: an unsigned or badly signed request is 403 Forbidden, a SigV4-signed one runs', async () => {
    const { FunctionUrl } = await lambda.send(
      new UpdateFunctionUrlConfigCommand({ FunctionName: 'web', AuthType: 'AWS_IAM' }),
    );
    const url = new URL(`${FunctionUrl}signed`);
    const unsigned = await call(url.href);
    assert.equal(unsigned.status, 403);
    assert.deepEqual(JSON.parse(unsigned.body), { Message: 'Forbidden' });

    const sign = (secretAccessKey: string) =>
      new SignatureV4({
        service: 'lambda',
        region: 'us-east-1',
        credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey },
        sha256: Sha256,
      }).sign({
        method: 'GET',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        headers: { host: url.host },
      });
    const wrong = await sign('not-the-secret');
    const refused = await call(url.href, { headers: wrong.headers as Record<string, string> });
    assert.equal(refused.status, 403);
    const signed = await sign(KEY.secretAccessKey);
    const ok = await call(url.href, { headers: signed.headers as Record<string, string> });
    assert.equal(ok.status, 201);
    const event = JSON.parse(ok.body) as UrlEvent;
    assert.equal(event.requestContext.accountId, '000000000000');
    assert.equal(event.requestContext.authorizer.iam.accessKey, KEY.accessKeyId);
  });

  test('a functionUrl declared in the definition is served and listed; DeleteFunctionUrlConfig removes a URL', async () => {
    const got = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: 'declared' }));
    assert.equal(got.AuthType, 'NONE');
    assert.equal((await call(`${got.FunctionUrl}bare`)).status, 200);
    await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'declared' }));
    assert.equal((await call(`${got.FunctionUrl}bare`)).status, 404);
    await assert.rejects(
      lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: 'declared' })),
      ResourceNotFoundException,
    );
  });
});
