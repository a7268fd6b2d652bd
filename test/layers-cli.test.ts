// Layers through the real AWS CLI against `selfless dev` with a state directory:
// publish-layer-version from a zip file, create-function --layers, invoke a function
// that requires the layer's module, and the same after the server restarts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { strToU8, zipSync } from 'fflate';
import { startDev, type DevServer } from '../cli/dev.ts';
import { makeLogger } from '../lib/log.ts';
import { awsCliBinary } from './services/local.ts';

let dir: string;
let dev: DevServer;

async function start(): Promise<DevServer> {
  return startDev({
    dir: join(dir, 'app'),
    port: 0,
    host: '127.0.0.1',
    idleTimeoutMs: 60_000,
    accountLimit: 1000,
    stateDir: join(dir, 'state'),
    log: makeLogger('dev', { level: 'error' }),
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'selfless-layers-cli-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(
    join(dir, 'layer.zip'),
    zipSync({
      'nodejs/node_modules/shout/index.js': strToU8(
        'exports.shout = (w) => w.toUpperCase() + "!";',
      ),
    }),
  );
  writeFileSync(
    join(dir, 'fn.zip'),
    zipSync({
      'index.js': strToU8(
        'const { shout } = require("shout"); exports.handler = async (e) => ({ said: shout(e.word) });',
      ),
    }),
  );
  dev = await start();
});
after(async () => {
  await dev.close();
  rmSync(dir, { recursive: true, force: true });
});

async function aws(...args: string[]): Promise<unknown> {
  const { stdout } = await promisify(execFile)(awsCliBinary(), [...args, '--output', 'json'], {
    cwd: dir,
    env: {
      ...process.env,
      AWS_ENDPOINT_URL: dev.url,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'cli',
      AWS_SECRET_ACCESS_KEY: 'cli',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  });
  return stdout.trim() ? JSON.parse(stdout) : undefined;
}

async function invoke(): Promise<unknown> {
  await aws(
    'lambda',
    'invoke',
    '--function-name',
    'shouter',
    '--payload',
    '{"word":"hey"}',
    'out.json',
  );
  return JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
}

test('aws lambda publish-layer-version, create-function --layers and invoke, before and after a restart', async () => {
  const layer = (await aws(
    'lambda',
    'publish-layer-version',
    '--layer-name',
    'shout',
    '--zip-file',
    'fileb://layer.zip',
    '--compatible-runtimes',
    'nodejs20.x',
  )) as { LayerVersionArn: string; Version: number };
  assert.equal(layer.LayerVersionArn, 'arn:aws:lambda:us-east-1:000000000000:layer:shout:1');
  await aws(
    'lambda',
    'create-function',
    '--function-name',
    'shouter',
    '--runtime',
    'nodejs20.x',
    '--handler',
    'index.handler',
    '--role',
    'arn:aws:iam::000000000000:role/cli',
    '--zip-file',
    'fileb://fn.zip',
    '--layers',
    layer.LayerVersionArn,
  );
  await aws('lambda', 'wait', 'function-active-v2', '--function-name', 'shouter');
  assert.deepEqual(await invoke(), { said: 'HEY!' });

  await dev.close();
  dev = await start();
  const listed = (await aws('lambda', 'list-layer-versions', '--layer-name', 'shout')) as {
    LayerVersions: { Version: number }[];
  };
  assert.deepEqual(
    listed.LayerVersions.map((v) => v.Version),
    [1],
  );
  assert.deepEqual(await invoke(), { said: 'HEY!' });
  const again = (await aws(
    'lambda',
    'publish-layer-version',
    '--layer-name',
    'shout',
    '--zip-file',
    'fileb://layer.zip',
  )) as { Version: number };
  assert.equal(again.Version, 2);
});
