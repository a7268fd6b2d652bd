// The Deployment as a whole: deterministic for one input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { functionObject as fn, workerConfig as cfg } from '../../test/support/function-object.ts';
import { makeDeployment } from './deployment.ts';

test('replicas, selector and grace period: the Deployment is deterministic for one input', () => {
  const f = fn({ code: { inline: { 'index.mjs': '' } }, timeout: 60 });
  const d = makeDeployment(f, cfg);
  assert.deepEqual(d, makeDeployment(f, cfg));
  assert.equal(d.metadata?.name, 'fn-f');
  assert.equal(d.spec?.replicas, 3);
  assert.deepEqual(d.spec?.selector, { matchLabels: { 'selfless.dev/function': 'f' } });
  assert.equal(d.spec?.template.spec?.terminationGracePeriodSeconds, 65);
  assert.equal(
    makeDeployment(f, { ...cfg, codeHash: 'abc' }).spec?.template.metadata?.annotations?.[
      'selfless.dev/code-hash'
    ],
    'abc',
  );
});
