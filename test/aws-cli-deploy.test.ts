// Deploying with the real AWS CLI (v1, botocore) against `selfless dev`, as a CI
// script would: create-function from a zip, the waiters, update-function-code,
// publish-version, create-alias with a 10 % weight, invoke by alias; then a restart
// on the same --state-dir finds the function, its versions and alias again.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { strToU8, zipSync } from 'fflate';
import { startDev, type DevServer } from '../cli/dev.ts';
import { makeLogger } from '../lib/log.ts';
import { awsCliBinary } from './services/local.ts';

let dir: string;
let stateDir: string;
let dev: DevServer;

const start = () =>
  startDev({
    dir,
    port: 0,
    host: '127.0.0.1',
    idleTimeoutMs: 60_000,
    accountLimit: 1000,
    stateDir,
    log: makeLogger('dev', { level: 'error' }),
  });

function writeZip(file: string, answer: string): void {
  writeFileSync(
    join(dir, file),
    zipSync({
      'index.py': strToU8(`def handler(event, context):\n    return {"answer": "${answer}"}\n`),
    }),
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'selfless-cli-deploy-'));
  stateDir = join(dir, 'state');
  writeZip('one.zip', 'one');
  writeZip('two.zip', 'two');
  dev = await start();
});
after(async () => {
  await dev.close();
  rmSync(dir, { recursive: true, force: true });
});

async function aws(...args: string[]): Promise<Record<string, unknown>> {
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
  return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
}

async function invoke(qualifier?: string): Promise<{ answer: string; version: unknown }> {
  const out = await aws(
    'lambda',
    'invoke',
    '--function-name',
    'deployed',
    ...(qualifier ? ['--qualifier', qualifier] : []),
    'out.json',
  );
  const { answer } = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { answer: string };
  return { answer, version: out.ExecutedVersion };
}

test('create-function, update-function-code, publish-version, create-alias and invoke by alias', async () => {
  const created = await aws(
    'lambda',
    'create-function',
    '--function-name',
    'deployed',
    '--runtime',
    'python3.12',
    '--handler',
    'index.handler',
    '--role',
    'arn:aws:iam::000000000000:role/ci',
    '--zip-file',
    'fileb://one.zip',
    '--tags',
    'team=ci',
  );
  assert.equal(created.State, 'Pending');
  await aws('lambda', 'wait', 'function-active-v2', '--function-name', 'deployed');
  assert.equal((await invoke()).answer, 'one');
  const v1 = await aws('lambda', 'publish-version', '--function-name', 'deployed');
  assert.equal(v1.Version, '1');

  await aws(
    'lambda',
    'update-function-code',
    '--function-name',
    'deployed',
    '--zip-file',
    'fileb://two.zip',
  );
  await aws('lambda', 'wait', 'function-updated-v2', '--function-name', 'deployed');
  const v2 = await aws('lambda', 'publish-version', '--function-name', 'deployed');
  assert.equal(v2.Version, '2');

  const alias = await aws(
    'lambda',
    'create-alias',
    '--function-name',
    'deployed',
    '--name',
    'live',
    '--function-version',
    '1',
    '--routing-config',
    '{"AdditionalVersionWeights":{"2":0.1}}',
  );
  assert.deepEqual(alias.RoutingConfig, { AdditionalVersionWeights: { '2': 0.1 } });
  const byAlias = await invoke('live');
  assert.ok(
    (byAlias.version === '1' && byAlias.answer === 'one') ||
      (byAlias.version === '2' && byAlias.answer === 'two'),
    `the alias ran version ${String(byAlias.version)} with answer ${byAlias.answer}`,
  );
  assert.deepEqual(await invoke('2'), { answer: 'two', version: '2' });
});

test('a restart on the same --state-dir serves the function, its versions and its alias', async () => {
  await dev.close();
  dev = await start();
  assert.deepEqual(await invoke('1'), { answer: 'one', version: '1' });
  assert.equal((await invoke()).answer, 'two');
  const alias = await aws('lambda', 'get-alias', '--function-name', 'deployed', '--name', 'live');
  assert.equal(alias.FunctionVersion, '1');
  const tags = await aws(
    'lambda',
    'list-tags',
    '--resource',
    'arn:aws:lambda:us-east-1:000000000000:function:deployed',
  );
  assert.deepEqual(tags.Tags, { team: 'ci' });
});
