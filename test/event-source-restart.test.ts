// A `selfless dev` process SIGKILLed while a stream mapping is behind its stream, then
// started again on the same tables file and state directory: every record reaches
// the function (at least once), none is skipped, and each item's records arrive in
// order. Duplicates are the batches in flight at the kill; their count is reported.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { freePort } from './services/process.ts';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'selfless-esm-restart-'));
const out = join(dir, 'seen.jsonl');

// Slow on purpose (200 ms a batch of 5): the stream is far ahead of it when the kill comes.
writeFileSync(
  join(dir, 'app.yaml'),
  `
apiVersion: selfless.dev/v1alpha1
kind: Table
metadata: { name: events }
spec:
  attributeDefinitions: [{ attributeName: id, attributeType: S }]
  keySchema: [{ attributeName: id, keyType: HASH }]
  streamSpecification: { streamEnabled: true, streamViewType: NEW_IMAGE }
---
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: slow }
spec:
  runtime: nodejs20.x
  handler: index.handler
  environment: { variables: { OUT: ${JSON.stringify(out)} } }
  code:
    inline:
      index.mjs: |
        import { appendFileSync } from 'node:fs';
        export const handler = async (event) => {
          await new Promise((r) => setTimeout(r, 200));
          appendFileSync(process.env.OUT, event.Records.map((r) => r.dynamodb.Keys.id.S + ' ' + r.dynamodb.NewImage.n.N).join('\\n') + '\\n');
        };
  triggers:
    - dynamodbStream: { table: events, startingPosition: TRIM_HORIZON, batchSize: 5 }
`,
);

let child: ChildProcess | undefined;
after(() => {
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startDev(port: number): Promise<ChildProcess> {
  const p = spawn(
    process.execPath,
    [
      join(root, 'bin/selfless.js'),
      'dev',
      dir,
      '--port',
      String(port),
      '--tables-file',
      join(dir, 'tables.db'),
      '--state-dir',
      join(dir, 'state'),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`dev did not start:\n${output}`)), 120_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('Ctrl-C stops everything')) {
        clearTimeout(timer);
        ready();
      }
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    p.once('exit', (code) => fail(new Error(`dev exited ${code}:\n${output}`)));
  });
  return p;
}

const lines = () =>
  existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : ([] as string[]);

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a gateway killed mid-stream and started again loses no record and keeps each item in order', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const ddb = new DynamoDBClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  // 20 writes at once, one per item, so the stream runs far ahead of the function
  // while each item's writes stay in order.
  const write = async (from: number, to: number) => {
    for (let n = from; n < to; n += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          ddb.send(
            new PutItemCommand({
              TableName: 'events',
              Item: { id: { S: `i-${(n + i) % 20}` }, n: { N: String(n + i) } },
            }),
          ),
        ),
      );
    }
  };
  try {
    child = await startDev(port);
    await write(0, 300);
    await until('some records before the kill', () => lines().length >= 40);
    const beforeKill = lines().length;
    process.kill(-child.pid!, 'SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    assert.ok(beforeKill < 300, `the mapping was behind at the kill (${beforeKill} of 300)`);

    child = await startDev(port);
    await write(300, 400);
    await until('all 400 records', () => new Set(lines()).size >= 400);
    const all = lines();
    const distinct = new Set(all);
    assert.equal(distinct.size, 400, 'every record arrived');
    const perItem = new Map<string, number[]>();
    for (const l of distinct) {
      const [id, n] = l.split(' ');
      perItem.set(id!, [...(perItem.get(id!) ?? []), Number(n)]);
    }
    for (const [id, ns] of perItem) {
      assert.deepEqual(
        ns,
        [...ns].sort((a, b) => a - b),
        `${id} in order`,
      );
    }
    process.stdout.write(
      `# killed after ${beforeKill} records delivered; duplicates after restart: ${all.length - distinct.size}\n`,
    );
  } finally {
    ddb.destroy();
  }
});
