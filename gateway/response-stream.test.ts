// InvokeWithResponseStream read by the real AWS SDK, against a gateway running real
// Node.js runtimes: in this process (the process driver of `selfless dev`) and in an
// agent that reaches the gateway over the HTTP worker channel only (pods).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  InvokeCommand,
  InvokeWithResponseStreamCommand,
  LambdaClient,
  ResourceNotFoundException,
  type InvokeWithResponseStreamResponseEvent,
} from '@aws-sdk/client-lambda';
import { parseFunctionSpec, type FunctionDefinition } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import { Agent } from '../lib/agent/agent.ts';
import { makeHttpWorkerChannel } from '../lib/worker-channel/client.ts';
import { makeGateway, type Gateway } from './app.ts';
import { makeProcessDriver } from './drivers/process.ts';
import { FunctionRegistry } from './registry.ts';

const CODE = `
export const handler = awslambda.streamifyResponse(async (event, stream) => {
  stream.setContentType('text/plain');
  if (event.mode === 'fail') {
    stream.write('partial;');
    throw new Error('boom');
  }
  stream.write('first;');
  // Held open by the test until it has seen the first chunk.
  if (event.release) await fetch(event.release);
  stream.write('second;');
  stream.end('third');
});
`;
const BUFFERED = 'export const handler = async (e) => ({ echo: e });';

/** An HTTP endpoint the handler calls and the test answers when it chooses. */
class Gate {
  readonly server: Server;
  private held: ServerResponse[] = [];
  private arrived: (() => void) | undefined;
  url = '';
  constructor() {
    this.server = createServer((_req, res) => {
      this.held.push(res);
      this.arrived?.();
    });
  }
  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await new Promise((r) => this.server.once('listening', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }
  /** Resolves once the handler is parked on the gate. */
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

async function collect(events: AsyncIterable<InvokeWithResponseStreamResponseEvent>) {
  const chunks: string[] = [];
  let complete: Record<string, unknown> | undefined;
  for await (const e of events) {
    if (e.PayloadChunk?.Payload) chunks.push(Buffer.from(e.PayloadChunk.Payload).toString());
    if (e.InvokeComplete) complete = { ...e.InvokeComplete };
  }
  return { chunks, complete };
}

function define(name: string, dir: string): FunctionDefinition {
  const spec = parseFunctionSpec({
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: { directory: dir },
    timeout: 30,
  });
  assert.ok(spec.ok);
  return { name, namespace: 'default', spec: spec.value };
}

for (const carrier of ['in-process', 'http worker channel'] as const) {
  describe(`InvokeWithResponseStream (${carrier})`, () => {
    let gateway: Gateway;
    let server: Server;
    let lambda: LambdaClient;
    let root: string;
    const gate = new Gate();
    const agents: Agent[] = [];

    before(async () => {
      await gate.start();
      root = mkdtempSync(join(tmpdir(), 'selfless-stream-'));
      const dirs = { streamer: join(root, 'streamer'), buffered: join(root, 'buffered') };
      const registry = new FunctionRegistry();
      for (const [name, dir] of Object.entries(dirs)) {
        const { mkdirSync } = await import('node:fs');
        mkdirSync(dir);
        writeFileSync(join(dir, 'index.mjs'), name === 'streamer' ? CODE : BUFFERED);
        registry.put(define(name, dir));
      }
      const log = makeLogger('gateway', { level: 'error' });
      gateway = makeGateway(
        carrier === 'in-process'
          ? { registry, log, driver: makeProcessDriver({ log, env: {}, scratchDir: root }) }
          : { registry, log, remoteWorkers: {} },
      );
      server = gateway.app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (carrier === 'http worker channel') {
        for (const name of Object.keys(dirs)) {
          const fn = registry.get(name)!;
          const agent = new Agent({
            channel: makeHttpWorkerChannel(url),
            worker: { workerId: `pod-${name}`, functionName: name },
            fn,
            codeDir: fn.spec.code.directory!,
            tmpDir: join(root, `tmp-${name}`),
            env: {},
            log: () => undefined,
          });
          await agent.start();
          agents.push(agent);
        }
      }
      lambda = new LambdaClient({
        endpoint: url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        maxAttempts: 1,
      });
    });
    after(async () => {
      lambda.destroy();
      gate.close();
      for (const a of agents) await a.stop();
      await gateway.close();
      server.closeAllConnections();
      server.close();
      rmSync(root, { recursive: true, force: true });
    });

    test('the first chunk reaches the caller while the handler still waits, then the rest and InvokeComplete', async () => {
      const out = await lambda.send(
        new InvokeWithResponseStreamCommand({
          FunctionName: 'streamer',
          Payload: Buffer.from(JSON.stringify({ release: gate.url })),
        }),
      );
      assert.equal(out.StatusCode, 200);
      assert.equal(out.ExecutedVersion, '$LATEST');
      assert.equal(out.ResponseStreamContentType, 'application/vnd.amazon.eventstream');
      const events = out.EventStream![Symbol.asyncIterator]();
      const first = await events.next();
      assert.equal(Buffer.from(first.value!.PayloadChunk!.Payload!).toString(), 'first;');
      // The handler cannot have finished: it waits on the gate, which opens only now.
      await gate.reached();
      gate.release();
      const rest = await collect({ [Symbol.asyncIterator]: () => events });
      assert.equal(rest.chunks.join(''), 'second;third');
      assert.deepEqual(rest.complete, {});
    });

    test('a failure after the first bytes ends the stream with InvokeComplete ErrorCode and ErrorDetails', async () => {
      const out = await lambda.send(
        new InvokeWithResponseStreamCommand({
          FunctionName: 'streamer',
          Payload: Buffer.from('{"mode":"fail"}'),
          LogType: 'Tail',
        }),
      );
      const { chunks, complete } = await collect(out.EventStream!);
      assert.equal(chunks.join(''), 'partial;');
      assert.equal(complete!.ErrorCode, 'Error');
      assert.equal(complete!.ErrorDetails, 'boom');
      assert.match(Buffer.from(String(complete!.LogResult), 'base64').toString(), /REPORT/);
    });

    test('a function that does not stream answers with one PayloadChunk', async () => {
      const out = await lambda.send(
        new InvokeWithResponseStreamCommand({
          FunctionName: 'buffered',
          Payload: Buffer.from('{"n":1}'),
        }),
      );
      const { chunks, complete } = await collect(out.EventStream!);
      assert.deepEqual(JSON.parse(chunks.join('')), { echo: { n: 1 } });
      assert.deepEqual(complete, {});
    });

    test('a streaming function called with Invoke answers its whole stream buffered', async () => {
      const out = await lambda.send(
        new InvokeCommand({ FunctionName: 'streamer', Payload: Buffer.from('{}') }),
      );
      assert.equal(out.FunctionError, undefined);
      assert.equal(Buffer.from(out.Payload!).toString(), 'first;second;third');
      const failed = await lambda.send(
        new InvokeCommand({ FunctionName: 'streamer', Payload: Buffer.from('{"mode":"fail"}') }),
      );
      assert.equal(failed.FunctionError, 'Unhandled');
      assert.equal(JSON.parse(Buffer.from(failed.Payload!).toString()).errorMessage, 'boom');
    });

    test("an unknown function is Lambda's ResourceNotFoundException", async () => {
      await assert.rejects(
        lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'nope' })),
        ResourceNotFoundException,
      );
    });
  });
}
