// The worker token: in its own Secret, referenced by the agents, never in a pod spec.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { functionObject as fn, workerConfig as cfg } from '../../test/support/function-object.ts';
import { makeDeployment } from './deployment.ts';
import { makeTokenSecret } from './token-secret.ts';

test('the token Secret is owned by the Function and the agents read the token from it', () => {
  const f = fn({ code: { imageURI: 'registry.example/f:1' } });
  const secret = makeTokenSecret(f, 't0k');
  assert.equal(secret.metadata?.name, 'fn-f-token');
  assert.deepEqual(secret.stringData, { token: 't0k' });
  assert.equal(secret.metadata?.ownerReferences?.[0]?.uid, 'uid-1');
  const pod = makeDeployment(f, { ...cfg, workerToken: 't0k' }).spec!.template.spec!;
  const agent = pod.initContainers!.find((c) => c.name === 'agent')!;
  assert.deepEqual(agent.env!.find((e) => e.name === 'SELFLESS_WORKER_TOKEN')?.valueFrom, {
    secretKeyRef: { name: 'fn-f-token', key: 'token' },
  });
  assert.ok(!JSON.stringify(pod).includes('t0k'));
  // The function container never sees it.
  assert.ok(!pod.containers[0]!.env!.some((e) => e.name === 'SELFLESS_WORKER_TOKEN'));
});
