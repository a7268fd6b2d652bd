// SnapStart on the real cluster: a published version of a Python function with
// snapStart runs restored environments in its worker pod (the after-restore hook run,
// AWS_LAMBDA_INITIALIZATION_TYPE snap-start, Restore Duration on the REPORT line),
// $LATEST starts cold, and an environment the agent starts again in the same pod
// (after a timeout) is forked from the pod's snapshot instead of a new init.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  InvokeCommand,
  PublishVersionCommand,
  waitUntilFunctionActiveV2,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { e2eCluster, lambdaClient, type E2eCluster } from './support.ts';

const mtime = new Date('2026-01-01T00:00:00Z');

const HANDLER = `
import os, time
from snapshot_restore_py import register_after_restore, register_before_snapshot

hooks = []
register_before_snapshot(hooks.append, "before-snapshot")
register_after_restore(hooks.append, "after-restore")

def handler(event, context):
    if event.get("hang"):
        time.sleep(30)
    return {
        "pid": os.getpid(),
        "hooks": hooks,
        "initType": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
    }
`;

interface Answer {
  body: { pid: number; hooks: string[]; initType: string };
  report: string;
}

async function invoke(
  lambda: LambdaClient,
  name: string,
  qualifier?: string,
  event: object = {},
): Promise<Answer & { error?: string }> {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: name,
      ...(qualifier && { Qualifier: qualifier }),
      Payload: JSON.stringify(event),
      LogType: 'Tail',
    }),
  );
  const tail = Buffer.from(out.LogResult ?? '', 'base64').toString();
  return {
    body: JSON.parse(Buffer.from(out.Payload ?? []).toString()) as Answer['body'],
    report: tail.split('\n').find((l) => l.startsWith('REPORT')) ?? '',
    ...(out.FunctionError && { error: out.FunctionError }),
  };
}

describe('SnapStart on a real cluster', () => {
  let c: E2eCluster;
  const name = `e2e-snap-${Date.now()}`;

  before(() => {
    c = e2eCluster();
  });

  after(async () => {
    await lambdaClient(c)
      .send(new DeleteFunctionCommand({ FunctionName: name }))
      .catch(() => undefined);
  });

  test('a published version runs restored environments, forked again from the pod snapshot after a timeout; $LATEST starts cold', async () => {
    const lambda = lambdaClient(c);
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: 'python3.12',
        Handler: 'app.handler',
        Role: 'arn:aws:iam::000000000000:role/any',
        Code: { ZipFile: zipSync({ 'app.py': [strToU8(HANDLER), { mtime }] }) },
        Timeout: 2,
        SnapStart: { ApplyOn: 'PublishedVersions' },
      }),
    );
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 300 }, { FunctionName: name });
    const published = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    assert.equal(published.SnapStart?.OptimizationStatus, 'On');
    const version = published.Version!;

    const first = await invoke(lambda, name, version);
    assert.equal(first.error, undefined, JSON.stringify(first.body));
    assert.equal(first.body.initType, 'snap-start');
    assert.deepEqual(first.body.hooks, ['before-snapshot', 'after-restore']);
    assert.match(first.report, /\tRestore Duration: [\d.]+ ms\tBilled Restore Duration: \d+ ms$/);
    assert.doesNotMatch(first.report, /Init Duration/);

    // A timeout kills the runtime; the agent starts the environment again, from the
    // pod's snapshot: a new process that ran the after-restore hook once more, while
    // the before-snapshot hook is not run again.
    const hung = await invoke(lambda, name, version, { hang: true });
    assert.equal(hung.error, 'Unhandled');
    const again = await invoke(lambda, name, version);
    assert.equal(again.error, undefined, JSON.stringify(again.body));
    assert.notEqual(again.body.pid, first.body.pid);
    assert.deepEqual(again.body.hooks, ['before-snapshot', 'after-restore']);
    const restoreMs = Number(/Restore Duration: ([\d.]+) ms/.exec(again.report)?.[1]);
    const firstMs = Number(/Restore Duration: ([\d.]+) ms/.exec(first.report)?.[1]);
    assert.ok(restoreMs < firstMs, `restored in ${restoreMs} ms, the pod's first in ${firstMs} ms`);

    const latest = await invoke(lambda, name);
    assert.equal(latest.body.initType, 'on-demand');
    assert.deepEqual(latest.body.hooks, []);
    assert.match(latest.report, /Init Duration: [\d.]+ ms/);
  });
});
