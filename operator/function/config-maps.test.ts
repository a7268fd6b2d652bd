// The code and agent ConfigMaps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { functionObject as fn } from '../../test/support/function-object.ts';
import { configMapKey, contentHash, makeAgentConfig, makeConfigMap } from './config-maps.ts';

test('the ConfigMap carries inline files (hashed keys for paths) or the zip, nothing for other code', () => {
  const inline = makeConfigMap(fn({ code: { inline: { 'index.mjs': 'a', 'lib/x.mjs': 'b' } } }))!;
  assert.deepEqual(inline.data, { 'index.mjs': 'a', [configMapKey('lib/x.mjs')]: 'b' });
  assert.match(configMapKey('lib/x.mjs'), /^f-[0-9a-f]{16}$/);
  assert.deepEqual(inline.metadata?.ownerReferences?.[0], {
    apiVersion: 'selfless.dev/v1alpha1',
    kind: 'Function',
    name: 'f',
    uid: 'uid-1',
    controller: true,
    blockOwnerDeletion: true,
  });
  const zip = makeConfigMap(fn({ code: { zipFile: 'UEsF\nBgAA' } }))!;
  assert.deepEqual(zip.binaryData, { 'code.zip': 'UEsFBgAA' });
  assert.equal(makeConfigMap(fn({ code: { imageURI: 'x' } })), undefined);
  assert.equal(makeConfigMap(fn({ code: { configMapRef: { name: 'src' } } })), undefined);
});

test("the agent's config leaves out the function URL, so creating one does not roll the workers", () => {
  const code = { inline: { 'index.mjs': 'a' } };
  const plain = makeAgentConfig(fn({ code }));
  const withUrl = makeAgentConfig(
    fn({ code, functionUrl: { authType: 'NONE', invokeMode: 'RESPONSE_STREAM' } }),
  );
  assert.equal(contentHash(withUrl), contentHash(plain));
  assert.doesNotMatch(withUrl.data!['function.yaml']!, /functionUrl|authType/);
  // Nor the other settings only the gateway and the operator act on.
  const controlPlane = makeAgentConfig(
    fn({
      code,
      reservedConcurrentExecutions: 3,
      provisionedConcurrentExecutions: 2,
      provisionedConcurrencyConfigs: [{ qualifier: 'live', provisionedConcurrentExecutions: 1 }],
      aliases: [{ name: 'live', functionVersion: '1' }],
      triggers: [{ schedule: { expression: 'rate(5 minutes)' } }],
      publish: true,
      recursiveLoop: 'Allow',
    }),
  );
  assert.equal(contentHash(controlPlane), contentHash(plain));
  // A field the agent does read still rolls them.
  assert.notEqual(contentHash(makeAgentConfig(fn({ code, timeout: 9 }))), contentHash(plain));
});
