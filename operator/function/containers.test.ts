// The containers: resources from memorySize, every one hardened the same way.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { functionObject as fn, workerConfig as cfg } from '../../test/support/function-object.ts';
import { cpuMillis } from './containers.ts';
import { makeDeployment } from './deployment.ts';

test('CPU is proportional to memory: 1769 MB is one vCPU', () => {
  for (const [mb, millis] of [
    [128, 72],
    [1769, 1000],
    [3538, 2000],
    [10240, 5789],
  ] as const) {
    assert.equal(cpuMillis(mb), millis, `${mb} MB`);
  }
});

test('memory, CPU and /tmp come from memorySize and ephemeralStorage', () => {
  const cases = [
    { spec: { memorySize: 128 }, memory: '192Mi', cpu: '72m', tmp: '512Mi' },
    {
      spec: { memorySize: 1769, ephemeralStorage: { size: 2048 } },
      memory: '1833Mi',
      cpu: '1000m',
      tmp: '2048Mi',
    },
  ];
  for (const c of cases) {
    const d = makeDeployment(fn({ code: { inline: { 'index.mjs': '' } }, ...c.spec }), cfg);
    const pod = d.spec!.template.spec!;
    const res = pod.containers[0]!.resources!;
    assert.deepEqual(res.limits, { cpu: c.cpu, memory: c.memory }, JSON.stringify(c.spec));
    assert.equal(res.requests?.memory, c.memory);
    assert.equal(pod.volumes!.find((v) => v.name === 'tmp')?.emptyDir?.sizeLimit, c.tmp);
  }
});

test('every worker pod is hardened the same way, whatever its code', () => {
  const codes = [
    { inline: { 'index.mjs': '' } },
    { zipFile: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' },
    { configMapRef: { name: 'src' } },
    { imageURI: 'registry.example/f:1' },
  ];
  for (const code of codes) {
    const pod = makeDeployment(fn({ code }), cfg).spec!.template.spec!;
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(pod.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
      assert.deepEqual(
        c.securityContext,
        {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
        },
        `${Object.keys(code)[0]}: ${c.name}`,
      );
    }
  }
});
