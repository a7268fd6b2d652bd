// The chart's life on the real cluster: `helm upgrade` with a changed value rolls the
// platform and the function workers while sequential calls keep answering, and
// `helm uninstall` removes every object of the release but leaves the tables: a
// protected Table keeps its resource and its data. The release is installed again
// afterwards with the values it had, so the cluster is left as it was found.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  arnOf,
  deleteNamespace,
  dynamodbClient,
  e2eCluster,
  eventually,
  getJson,
  helm,
  kubectl,
  liftDeletionProtection,
  lambdaClient,
  makeNamespace,
  readyWorkers,
  waitReady,
  type E2eCluster,
} from './support.ts';

const chart = join(import.meta.dirname, '..', '..', 'charts', 'selfless');

interface Pod {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { containers: { env?: { name: string; value?: string }[] }[] };
}

describe('helm upgrade and uninstall on a real cluster', () => {
  let c: E2eCluster;
  let ns: string;
  let dir: string;
  const tableName = `e2e-helm-${Date.now()}`;

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-helm');
    dir = mkdtempSync(join(tmpdir(), 'selfless-e2e-helm-'));
  });

  after(async () => {
    await liftDeletionProtection(c, ns, 'kept').catch(() => undefined);
    await deleteNamespace(c, ns);
    rmSync(dir, { recursive: true, force: true });
  });

  const upgrade = (...set: string[]) =>
    helm(c, [
      'upgrade',
      c.release,
      chart,
      '--namespace',
      c.namespace,
      '--reuse-values',
      ...set.flatMap((s) => ['--set', s]),
      '--wait',
      '--timeout',
      '10m',
    ]);

  test('helm upgrade with a changed region rolls the platform and the workers, and sequential calls keep answering', async (t) => {
    const values = JSON.parse(
      await helm(c, ['get', 'values', c.release, '-n', c.namespace, '--all', '-o', 'json']),
    ) as { region: string };
    const from = values.region;
    const to = from === 'eu-west-1' ? 'eu-central-1' : 'eu-west-1';
    t.after(() => upgrade(`region=${from}`));

    await kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Function',
        metadata: { name: 'steady' },
        spec: {
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          timeout: 30,
          provisionedConcurrentExecutions: 1,
          code: {
            inline: { 'index.mjs': 'export const handler = async () => process.env.AWS_REGION;' },
          },
        },
      }),
    });
    await waitReady(c, 'function', 'steady', ns, ['WorkersAvailable']);
    await eventually('a provisioned worker ready', async () =>
      (await readyWorkers(c, ns, 'steady')) >= 1 ? true : undefined,
    );

    const lambda = lambdaClient(c);
    const answers: string[] = [];
    const failures: string[] = [];
    let rolling = true;
    const caller = (async () => {
      while (rolling) {
        try {
          const out = await lambda.send(
            new InvokeCommand({ FunctionName: arnOf(c, ns, 'steady'), Payload: '{}' }),
          );
          if (out.StatusCode !== 200 || out.FunctionError) {
            failures.push(`${out.StatusCode} ${Buffer.from(out.Payload ?? []).toString()}`);
          } else answers.push(JSON.parse(Buffer.from(out.Payload!).toString()) as string);
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    try {
      await upgrade(`region=${to}`);
      // helm waits for the platform; the operator then rolls the workers.
      await eventually(
        'the workers rolled to the new region',
        async () => {
          const pods = await getJson<{ items: Pod[] }>(c, [
            'pods',
            '-n',
            ns,
            '-l',
            'selfless.dev/function=steady',
          ]);
          const regions = pods.items.map(
            (p) => p.spec.containers[0]!.env?.find((e) => e.name === 'AWS_REGION')?.value,
          );
          return regions.length > 0 && regions.every((r) => r === to) && answers.at(-1) === to
            ? true
            : undefined;
        },
        600_000,
        1_000,
      );
    } finally {
      rolling = false;
      await caller;
    }
    assert.deepEqual(failures, [], `${failures.length} of ${failures.length + answers.length}`);
    assert.equal(answers[0], from, 'answered by the old workers first');
    assert.equal(answers.at(-1), to, 'then by the rolled ones');
    assert.ok(answers.length >= 10, `${answers.length} calls during the roll`);
  });

  test('helm uninstall removes every object of the release but its worker token, and leaves a protected Table with its data', async () => {
    await kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Table',
        metadata: { name: 'kept' },
        spec: {
          tableName,
          attributeDefinitions: [{ attributeName: 'pk', attributeType: 'S' }],
          keySchema: [{ attributeName: 'pk', keyType: 'HASH' }],
          deletionProtectionEnabled: true,
        },
      }),
    });
    await waitReady(c, 'table', 'kept', ns, ['TableActive']);
    const item = { pk: { S: 'kept' }, n: { N: '7' } };
    await dynamodbClient(c).send(new PutItemCommand({ TableName: tableName, Item: item }));

    const values = join(dir, 'values.json');
    writeFileSync(
      values,
      await helm(c, ['get', 'values', c.release, '-n', c.namespace, '-o', 'json']),
    );
    await helm(c, ['uninstall', c.release, '-n', c.namespace, '--wait', '--timeout', '5m']);
    try {
      const selector = `app.kubernetes.io/instance=${c.release}`;
      const namespaced =
        'deployments,statefulsets,pods,services,configmaps,secrets,serviceaccounts,roles,rolebindings,networkpolicies,poddisruptionbudgets,horizontalpodautoscalers';
      await eventually(
        'no object of the release left but its worker token',
        async () => {
          const left = [
            ...(await kubectl(c, ['get', namespaced, '-A', '-l', selector, '-o', 'name'])).split(
              '\n',
            ),
            ...(
              await kubectl(c, [
                'get',
                'clusterroles,clusterrolebindings',
                '-l',
                selector,
                '-o',
                'name',
              ])
            ).split('\n'),
          ].filter(Boolean);
          // The worker token is kept on purpose (helm.sh/resource-policy: keep): workers
          // of Functions that outlive the release read it from their pods' env, so a
          // reinstall must find the same token or they could never connect again.
          if (left.join() === `secret/${c.release}-worker-token`) return true;
          throw new Error(left.join(', '));
        },
        300_000,
        2_000,
      );
      // What stays besides: the CRDs (Helm never deletes those of crds/), the Table
      // resource, and Redis's volume claim (queued events survive a reinstall).
      const crds = await kubectl(c, [
        'get',
        'crd',
        'tables.selfless.dev',
        'functions.selfless.dev',
        '-o',
        'name',
      ]);
      assert.equal(crds.trim().split('\n').length, 2);
      const table = await getJson<{ metadata: { finalizers?: string[] } }>(c, [
        'tables.selfless.dev',
        'kept',
        '-n',
        ns,
      ]);
      assert.deepEqual(table.metadata.finalizers, ['selfless.dev/table']);
    } finally {
      await helm(c, [
        'upgrade',
        '--install',
        c.release,
        chart,
        '--namespace',
        c.namespace,
        '-f',
        values,
        '--wait',
        '--timeout',
        '10m',
      ]);
    }
    // The data was never the release's: the reinstalled table service reads it back.
    const got = await eventually(
      'the item read back after reinstall',
      async () =>
        (
          await dynamodbClient(c).send(
            new GetItemCommand({ TableName: tableName, Key: { pk: item.pk } }),
          )
        ).Item,
    );
    assert.deepEqual(got, item);
  });
});
