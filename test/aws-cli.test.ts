// Wire compatibility with the real AWS CLI (v1, botocore): functions and tables of
// `selfless dev`, driven exactly as a user would with AWS_ENDPOINT_URL set.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startDev, type DevServer } from '../cli/dev.ts';
import { makeLogger } from '../lib/log.ts';
import { awsCliBinary } from './services/local.ts';

let dir: string;
let dev: DevServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'selfless-cli-'));
  writeFileSync(
    join(dir, 'app.yaml'),
    `apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: shout }
spec:
  runtime: python3.12
  handler: app.handler
  reservedConcurrentExecutions: 5
  code:
    inline:
      app.py: |
        def handler(event, context):
            print("shouting", event["word"])
            return {"shout": event["word"].upper()}
---
apiVersion: selfless.dev/v1alpha1
kind: Table
metadata: { name: words }
spec:
  attributeDefinitions: [{ attributeName: w, attributeType: S }, { attributeName: n, attributeType: 'N' }]
  keySchema: [{ attributeName: w, keyType: HASH }, { attributeName: n, keyType: RANGE }]
`,
  );
  dev = await startDev({
    dir,
    port: 0,
    host: '127.0.0.1',
    idleTimeoutMs: 60_000,
    accountLimit: 1000,
    log: makeLogger('dev', { level: 'error' }),
  });
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
      // AWS CLI v1 reads the region from AWS_DEFAULT_REGION only.
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'cli',
      AWS_SECRET_ACCESS_KEY: 'cli',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  });
  return stdout.trim() ? JSON.parse(stdout) : undefined;
}

test('aws lambda invoke runs the function and returns its result and Tail log', async () => {
  const out = (await aws(
    'lambda',
    'invoke',
    '--function-name',
    'shout',
    '--payload',
    '{"word":"hey"}',
    '--log-type',
    'Tail',
    'out.json',
  )) as { StatusCode: number; LogResult: string; ExecutedVersion: string };
  assert.equal(out.StatusCode, 200);
  assert.equal(out.ExecutedVersion, '$LATEST');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')), { shout: 'HEY' });
  assert.match(
    Buffer.from(out.LogResult, 'base64').toString(),
    /shouting hey[\s\S]*REPORT RequestId/,
  );
});

test('aws lambda get-function, get-function-concurrency and an unknown function', async () => {
  const fn = (await aws('lambda', 'get-function', '--function-name', 'shout')) as {
    Configuration: { FunctionArn: string; Runtime: string };
  };
  assert.equal(fn.Configuration.Runtime, 'python3.12');
  assert.equal(
    fn.Configuration.FunctionArn,
    'arn:aws:lambda:us-east-1:000000000000:function:shout',
  );
  assert.deepEqual(await aws('lambda', 'get-function-concurrency', '--function-name', 'shout'), {
    ReservedConcurrentExecutions: 5,
  });
  await assert.rejects(
    aws('lambda', 'get-function', '--function-name', 'nope'),
    /ResourceNotFoundException/,
  );
});

test('aws dynamodb put-item, get-item and query against a Table manifest', async () => {
  const tables = (await aws('dynamodb', 'list-tables')) as { TableNames: string[] };
  assert.deepEqual(tables.TableNames, ['words']);
  for (const [n, text] of [
    ['2', 'two'],
    ['10', 'ten'],
    ['1', 'one'],
  ]) {
    await aws(
      'dynamodb',
      'put-item',
      '--table-name',
      'words',
      '--item',
      JSON.stringify({ w: { S: 'x' }, n: { N: n }, t: { S: text } }),
    );
  }
  const got = (await aws(
    'dynamodb',
    'get-item',
    '--table-name',
    'words',
    '--key',
    '{"w":{"S":"x"},"n":{"N":"10"}}',
  )) as {
    Item: { t: { S: string } };
  };
  assert.equal(got.Item.t.S, 'ten');
  const q = (await aws(
    'dynamodb',
    'query',
    '--table-name',
    'words',
    '--key-condition-expression',
    'w = :w AND n > :min',
    '--expression-attribute-values',
    '{":w":{"S":"x"},":min":{"N":"1"}}',
  )) as { Items: { n: { N: string } }[]; Count: number };
  // Numbers sort as numbers (2 before 10), not as strings.
  assert.deepEqual(
    q.Items.map((i) => i.n.N),
    ['2', '10'],
  );
  await assert.rejects(
    aws('dynamodb', 'put-item', '--table-name', 'words', '--item', '{"w":{"S":"x"}}'),
    /ValidationException[\s\S]*Missing the key n in the item/,
  );
});
