// SnapStart through the real AWS SDK client against a gateway with the process
// driver: the SnapStart member of Create/UpdateFunctionConfiguration, reported back
// as Lambda reports it (OptimizationStatus On only on a published version), and
// Lambda's refusals in its words.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  CreateFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type CreateFunctionCommandInput,
} from '@aws-sdk/client-lambda';
import { strToU8, zipSync } from 'fflate';
import { makeLogger } from '../../lib/log.ts';
import { makeGateway, type Gateway } from '../app.ts';
import { makeProcessDriver } from '../drivers/process.ts';
import { FunctionRegistry } from '../registry.ts';

const ROLE = 'arn:aws:iam::000000000000:role/test';

let gateway: Gateway;
let server: Server;
let client: LambdaClient;
/** Every line of every function's log: runtime output and START/END/REPORT. */
const lines: string[] = [];

before(async () => {
  const log = makeLogger('test', { level: 'error' });
  gateway = makeGateway({
    registry: new FunctionRegistry(),
    driver: makeProcessDriver({
      log,
      env: {},
      functionLog: (_fn, _worker, line) => lines.push(line),
    }),
    log,
    quotas: { accountLimit: 200, unreservedFloor: 100 },
  });
  server = createServer(gateway.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  client = new LambdaClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
});
after(async () => {
  client.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await gateway.close();
});

const PY = { 'app.py': strToU8('def handler(event, context):\n    return "ok"\n') };

function create(name: string, extra: Partial<CreateFunctionCommandInput>) {
  return client.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'python3.12',
      Handler: 'app.handler',
      Role: ROLE,
      Code: { ZipFile: zipSync(PY) },
      ...extra,
    }),
  );
}

async function refusal(p: Promise<unknown>): Promise<{ name: string; message: string }> {
  const err = (await p.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  )) as Error;
  return { name: err.name, message: err.message };
}

test('SnapStart ApplyOn is stored; OptimizationStatus is On only on a published version', async () => {
  const created = await create('snap-fields', { SnapStart: { ApplyOn: 'PublishedVersions' } });
  assert.deepEqual(created.SnapStart, { ApplyOn: 'PublishedVersions', OptimizationStatus: 'Off' });
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'snap-fields' });
  const v = await client.send(new PublishVersionCommand({ FunctionName: 'snap-fields' }));
  assert.deepEqual(v.SnapStart, { ApplyOn: 'PublishedVersions', OptimizationStatus: 'On' });
  const got = await client.send(
    new GetFunctionConfigurationCommand({ FunctionName: 'snap-fields', Qualifier: v.Version }),
  );
  assert.deepEqual(got.SnapStart, { ApplyOn: 'PublishedVersions', OptimizationStatus: 'On' });

  const off = await client.send(
    new UpdateFunctionConfigurationCommand({
      FunctionName: 'snap-fields',
      SnapStart: { ApplyOn: 'None' },
    }),
  );
  assert.deepEqual(off.SnapStart, { ApplyOn: 'None', OptimizationStatus: 'Off' });
  await waitUntilFunctionUpdatedV2({ client, maxWaitTime: 20 }, { FunctionName: 'snap-fields' });
  const v2 = await client.send(new PublishVersionCommand({ FunctionName: 'snap-fields' }));
  assert.deepEqual(v2.SnapStart, { ApplyOn: 'None', OptimizationStatus: 'Off' });
  // The published version keeps the setting it was published with.
  const first = await client.send(
    new GetFunctionConfigurationCommand({ FunctionName: 'snap-fields', Qualifier: v.Version }),
  );
  assert.equal(first.SnapStart?.OptimizationStatus, 'On');
});

test("SnapStart refusals are Lambda's", async () => {
  assert.deepEqual(
    await refusal(
      create('snap-node', {
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        SnapStart: { ApplyOn: 'PublishedVersions' },
      }),
    ),
    {
      name: 'InvalidParameterValueException',
      message: 'nodejs22.x is not supported for SnapStart enabled functions.',
    },
  );
  assert.deepEqual(
    await refusal(create('snap-enum', { SnapStart: { ApplyOn: 'Always' as 'None' } })),
    {
      name: 'ValidationException',
      message:
        "1 validation error detected: Value 'Always' at 'snapStart.applyOn' failed to satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]",
    },
  );
  // None is accepted on any runtime.
  await create('snap-none-node', {
    Runtime: 'nodejs22.x',
    Handler: 'index.handler',
    SnapStart: { ApplyOn: 'None' },
  });
  await create('snap-later', {});
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'snap-later' });
  assert.equal(
    (
      await refusal(
        client.send(
          new UpdateFunctionConfigurationCommand({
            FunctionName: 'snap-later',
            SnapStart: { ApplyOn: 'PublishedVersions' },
            EphemeralStorage: { Size: 1024 },
          }),
        ),
      )
    ).name,
    'InvalidParameterValueException',
  );
});

const HOOKED = `
import os, random, time
from snapshot_restore_py import register_before_snapshot, register_after_restore

print("init", flush=True)
drawn_at_init = random.random()
order = []

@register_before_snapshot
def b1():
    print("before-snapshot 1", flush=True)

register_before_snapshot(lambda: print("before-snapshot 2", flush=True))

@register_after_restore
def a1():
    order.append("a1")

register_after_restore(order.append, "a2")

def handler(event, context):
    # Calls given a barrier directory wait there for each other, so that they are in
    # flight at once and need an environment each.
    barrier = (event or {}).get("barrier")
    if barrier:
        open(os.path.join(barrier, str(os.getpid())), "w").close()
        deadline = time.time() + 2.5
        while len(os.listdir(barrier)) < 2 and time.time() < deadline:
            time.sleep(0.01)
    return {
        "pid": os.getpid(),
        "random": random.random(),
        "order": order,
        "initType": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "logStream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
    }
`;

async function invoke(
  name: string,
  qualifier?: string,
  event?: object,
): Promise<Record<string, unknown>> {
  const out = await client.send(
    new InvokeCommand({
      FunctionName: name,
      ...(qualifier && { Qualifier: qualifier }),
      ...(event && { Payload: JSON.stringify(event) }),
    }),
  );
  assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
  return JSON.parse(Buffer.from(out.Payload!).toString()) as Record<string, unknown>;
}

test('environments of a SnapStart version are forked from one initialised interpreter, hooks in Lambda order, seeds drawn anew', async () => {
  await create('snap-hooks', {
    Code: { ZipFile: zipSync({ 'app.py': strToU8(HOOKED) }) },
    SnapStart: { ApplyOn: 'PublishedVersions' },
  });
  await waitUntilFunctionActiveV2({ client, maxWaitTime: 20 }, { FunctionName: 'snap-hooks' });
  const v = await client.send(new PublishVersionCommand({ FunctionName: 'snap-hooks' }));
  lines.length = 0;
  // Two at once (each waits for the other): two environments, both restored from the
  // one snapshot.
  const barrier = mkdtempSync(join(tmpdir(), 'selfless-snap-barrier-'));
  const [a, b] = await Promise.all([
    invoke('snap-hooks', v.Version, { barrier }),
    invoke('snap-hooks', v.Version, { barrier }),
  ]);
  rmSync(barrier, { recursive: true, force: true });
  assert.notEqual(a!.pid, b!.pid);
  assert.notEqual(a!.random, b!.random);
  assert.deepEqual(a!.order, ['a1', 'a2']);
  assert.deepEqual(b!.order, ['a1', 'a2']);
  assert.equal(a!.initType, 'snap-start');
  assert.equal(a!.logStream, null);
  // Init and the before-snapshot hooks ran once, last registered first.
  assert.deepEqual(
    lines.filter((l) => l === 'init' || l.startsWith('before-snapshot')),
    ['init', 'before-snapshot 2', 'before-snapshot 1'],
  );
  const reports = lines.filter((l) => l.startsWith('REPORT'));
  assert.equal(reports.length, 2);
  for (const r of reports) {
    assert.match(
      r,
      /^REPORT RequestId: \S+\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tRestore Duration: [\d.]+ ms\tBilled Restore Duration: \d+ ms$/,
    );
  }
  // A warm environment reports no restore; $LATEST starts cold, as without SnapStart.
  lines.length = 0;
  await invoke('snap-hooks', v.Version);
  assert.doesNotMatch(
    lines.find((l) => l.startsWith('REPORT'))!,
    /Restore Duration/,
  );
  lines.length = 0;
  const latest = await invoke('snap-hooks');
  assert.equal(latest.initType, 'on-demand');
  assert.match(
    lines.find((l) => l.startsWith('REPORT'))!,
    /Init Duration: [\d.]+ ms/,
  );
  assert.doesNotMatch(
    lines.find((l) => l.startsWith('REPORT'))!,
    /Restore Duration/,
  );
});

test('a failing after-restore hook fails the restore with Runtime.AfterRestoreError', async () => {
  const code = [
    'from snapshot_restore_py import register_after_restore',
    'def boom():',
    '    raise ValueError("no connection")',
    'register_after_restore(boom)',
    'def handler(event, context):',
    '    return "never"',
    '',
  ].join('\n');
  await create('snap-restore-error', {
    Code: { ZipFile: zipSync({ 'app.py': strToU8(code) }) },
    SnapStart: { ApplyOn: 'PublishedVersions' },
  });
  await waitUntilFunctionActiveV2(
    { client, maxWaitTime: 20 },
    { FunctionName: 'snap-restore-error' },
  );
  const v = await client.send(new PublishVersionCommand({ FunctionName: 'snap-restore-error' }));
  const out = await client.send(
    new InvokeCommand({ FunctionName: 'snap-restore-error', Qualifier: v.Version }),
  );
  assert.equal(out.FunctionError, 'Unhandled');
  const doc = JSON.parse(Buffer.from(out.Payload!).toString()) as Record<string, unknown>;
  assert.equal(doc.errorType, 'Runtime.AfterRestoreError');
  assert.equal(doc.errorMessage, 'no connection');
});
