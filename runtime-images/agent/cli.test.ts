// `selfless agent` as a pod runs it: a separate process pulling work over the HTTP
// worker channel from a gateway (here: the routes over a queue channel).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { makeWorkerChannelRoutes } from '../../lib/worker-channel-http.ts';
import { definitionFromArgs } from './cli.ts';
import { QueueChannel } from './testing/queue-channel.ts';

const bin = resolve(import.meta.dirname, '../../bin/selfless.js');

describe('selfless agent', () => {
  it('serves invocations from a gateway over HTTP and leaves on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfless-agent-cli-'));
    writeFileSync(
      join(dir, 'index.mjs'),
      'export const handler = async (e, c) => ({ echo: e, region: process.env.AWS_REGION, fn: c.functionName });',
    );
    const queue = new QueueChannel('greeter');
    const routes = makeWorkerChannelRoutes(queue, { token: 't0k' });
    const server = createServer((req, res) => void routes(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const child = spawn(
      process.execPath,
      [
        bin,
        'agent',
        '--gateway',
        url,
        '--function',
        'greeter',
        '--code',
        dir,
        '--runtime',
        'nodejs20.x',
        '--handler',
        'index.handler',
        '--memory-size',
        '256',
      ],
      {
        env: { ...process.env, AWS_REGION: 'ap-south-1', SELFLESS_WORKER_TOKEN: 't0k' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const r = await queue.invoke({ hi: 1 });
      assert.deepEqual(JSON.parse(r.payload.toString()), {
        echo: { hi: 1 },
        region: 'ap-south-1',
        fn: 'greeter',
      });
      assert.ok(r.initDurationMs! > 0);
      const exited = new Promise<number | null>((r2) => child.once('exit', (code) => r2(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(queue.left.length, 1);
      assert.match(out, /REPORT RequestId: .*\tMemory Size: 256 MB\t/);
    } finally {
      child.kill('SIGKILL');
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds the definition from a manifest, flags overriding it, and names bad input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'selfless-agent-cli-'));
    try {
      const manifest = join(dir, 'fn.yaml');
      writeFileSync(
        manifest,
        'apiVersion: selfless.dev/v1alpha1\nkind: Function\nmetadata: { name: orders }\nspec:\n  runtime: python3.12\n  handler: app.handler\n  code: { directory: . }\n  timeout: 9\n  environment: { variables: { TABLE: orders } }\n',
      );
      const fn = definitionFromArgs([
        '--manifest',
        manifest,
        '--code',
        dir,
        '--memory-size',
        '512',
      ]);
      assert.ok(typeof fn !== 'string', String(fn));
      assert.equal(fn.name, 'orders');
      assert.equal(fn.spec.runtime, 'python3.12');
      assert.equal(fn.spec.timeout, 9);
      assert.equal(fn.spec.memorySize, 512);
      assert.deepEqual(fn.spec.environment.variables, { TABLE: 'orders' });
      assert.equal(
        definitionFromArgs(['--code', dir, '--runtime', 'nodejs20.x']),
        '--function is required',
      );
      assert.match(
        String(
          definitionFromArgs([
            '--function',
            'f',
            '--code',
            dir,
            '--runtime',
            'nodejs20.x',
            '--handler',
            'i.h',
            '--memory-size',
            '64',
          ]),
        ),
        /spec.memorySize: must be between 128 and 10240, got 64/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
