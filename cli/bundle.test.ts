// The images' ahead-of-time bundles: a bundled command starts without tsx and
// behaves as the sources do, paths beside its modules included (the bundled agent
// finds its runtime's bootstrap and serves a real call through the bundled gateway).
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { freePort } from '../test/services/process.ts';
import { bundleCommands } from './bundle.ts';

const root = resolve(import.meta.dirname, '..');
const bin = join(root, 'bin', 'selfless.js');
const exec = promisify(execFile);
let dir: string;
let dist: string;

before(async () => {
  // Inside the repository, as /usr/local/lib/selfless/dist is in an image: a bundle's packages
  // resolve from the node_modules above it.
  mkdirSync(join(root, '.scratch'), { recursive: true });
  dir = mkdtempSync(join(root, '.scratch', 'bundle-'));
  dist = join(dir, 'dist');
  await bundleCommands(dist, ['agent', 'gateway']);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const bundled = () => ({ ...process.env, SELFLESS_BUNDLE_DIR: dist });

test('a bundle holds no TypeScript import and no import.meta path of its own', () => {
  const text = readFileSync(join(dist, 'agent.mjs'), 'utf8');
  assert.doesNotMatch(text, /import\.meta\.(dirname|filename)/);
  assert.doesNotMatch(text, /from ["'][^"']+\.ts["']/);
  assert.ok(text.includes(JSON.stringify(join(root, 'lib', 'agent'))), 'paths are the sources');
});

test('bin/selfless.js runs a bundled command as the sources run it', async () => {
  const fromSource = await exec(process.execPath, [bin, 'gateway', '--help']);
  const fromBundle = await exec(process.execPath, [bin, 'gateway', '--help'], { env: bundled() });
  assert.equal(fromBundle.stdout, fromSource.stdout);
  // A command without a bundle there still runs from source.
  const tables = await exec(process.execPath, [bin, 'tables', '--help'], { env: bundled() });
  assert.match(tables.stdout, /Usage: selfless tables/);
});

/** Until the server answers its readiness path (it is still starting). */
async function listening(url: string): Promise<void> {
  for (;;) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stop(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  return exited;
}

test('the bundled agent starts its runtime and serves a call through the bundled gateway', async () => {
  const code = join(dir, 'code');
  mkdirSync(code, { recursive: true });
  writeFileSync(join(code, 'index.mjs'), 'export const handler = async (e) => ({ got: e.n });\n');
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests, { recursive: true });
  const manifest = `apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: aot }
spec: { runtime: nodejs20.x, handler: index.handler, code: { directory: ${code} } }
`;
  writeFileSync(join(manifests, 'aot.yaml'), manifest);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const gateway = spawn(
    process.execPath,
    [
      bin,
      'gateway',
      ...['--manifests', manifests, '--workers', 'remote'],
      ...['--host', '127.0.0.1', '--port', String(port)],
    ],
    { env: bundled(), stdio: 'ignore' },
  );
  await listening(url);
  const agent = spawn(
    process.execPath,
    [
      bin,
      'agent',
      ...['--gateway', url, '--manifest', join(manifests, 'aot.yaml'), '--code', code],
      ...['--tmp', join(dir, 'tmp')],
    ],
    { env: bundled(), stdio: 'ignore' },
  );
  const lambda = new LambdaClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  try {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: 'aot', Payload: Buffer.from('{"n":7}') }),
    );
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload!).toString());
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload!).toString()), { got: 7 });
  } finally {
    lambda.destroy();
    await Promise.all([stop(agent), stop(gateway)]);
  }
});
