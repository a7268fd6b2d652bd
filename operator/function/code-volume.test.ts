// How the code reaches /var/task, for each kind of code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { functionObject as fn, workerConfig as cfg } from '../../test/support/function-object.ts';
import { configMapKey } from './config-maps.ts';
import { makeDeployment } from './deployment.ts';

test('code layouts: inline, zip, referenced ConfigMap, image', () => {
  const table = [
    {
      code: { inline: { 'index.mjs': 'a', 'lib/x.mjs': 'b' } },
      containers: ['worker'],
      init: [],
      codeVolume: {
        configMap: {
          name: 'fn-f-code',
          items: [
            { key: 'index.mjs', path: 'index.mjs' },
            { key: configMapKey('lib/x.mjs'), path: 'lib/x.mjs' },
          ],
          defaultMode: 0o755,
        },
      },
    },
    {
      code: { zipFile: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' },
      containers: ['worker'],
      init: ['extract-code'],
      codeVolume: { emptyDir: { sizeLimit: '250Mi' } },
    },
    {
      code: { configMapRef: { name: 'src' } },
      containers: ['worker'],
      init: [],
      codeVolume: { configMap: { name: 'src', defaultMode: 0o755 } },
    },
    {
      code: { imageURI: 'registry.example/f:1' },
      containers: ['function'],
      init: ['agent'],
      codeVolume: undefined,
    },
  ];
  for (const row of table) {
    const pod = makeDeployment(fn({ code: row.code }), cfg).spec!.template.spec!;
    const what = Object.keys(row.code)[0];
    assert.deepEqual(
      pod.containers.map((c) => c.name),
      row.containers,
      what,
    );
    assert.deepEqual(
      (pod.initContainers ?? []).map((c) => c.name),
      row.init,
      what,
    );
    const vol = pod.volumes!.find((v) => v.name === 'code');
    assert.deepEqual(
      vol && { ...vol, name: undefined },
      row.codeVolume && { name: undefined, ...row.codeVolume },
      what,
    );
  }
});

test('a zip is extracted by the agent of the runtime image, into the code volume', () => {
  const pod = makeDeployment(fn({ code: { zipFile: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' } }), cfg)
    .spec!.template.spec!;
  const init = pod.initContainers!.find((c) => c.name === 'extract-code')!;
  assert.equal(init.image, 'rt/node20:1');
  assert.equal(init.command, undefined, 'the image entry point: selfless');
  assert.deepEqual(init.args, ['agent', 'extract-zip', '/var/selfless/zip/code.zip', '/var/task']);
  assert.deepEqual(init.volumeMounts, [
    { name: 'zip', mountPath: '/var/selfless/zip', readOnly: true },
    { name: 'code', mountPath: '/var/task' },
    { name: 'tmp', mountPath: '/tmp' },
  ]);
  assert.deepEqual(
    pod.volumes!.find((v) => v.name === 'zip'),
    {
      name: 'zip',
      configMap: { name: 'fn-f-code' },
    },
  );
});
