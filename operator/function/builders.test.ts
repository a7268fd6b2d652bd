// The pure builders, as tables of input -> expected object fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFunctionSpec, type FunctionSpec } from '../../lib/function.ts';
import {
  configMapKey,
  cpuMillis,
  makeConfigMap,
  makeDeployment,
  type FunctionObject,
  type WorkerConfig,
} from './builders.ts';

const cfg: WorkerConfig = {
  gatewayUrl: 'http://gw:8080',
  tablesUrl: 'http://tables:8000',
  region: 'eu-west-1',
  runtimeImages: { 'nodejs20.x': 'rt/node20:1', 'python3.12': 'rt/py312:1' },
  agentImage: 'selfless:1',
  replicas: 3,
};

function fn(spec: Record<string, unknown>, name = 'f'): FunctionObject {
  const parsed = parseFunctionSpec({ runtime: 'nodejs20.x', handler: 'index.handler', ...spec });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return { def: { name, namespace: 'team-a', spec: parsed.value as FunctionSpec }, uid: 'uid-1' };
}

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
      codeVolume: { configMap: { name: 'src' } },
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

test('the environment: user variables, Lambda variables, endpoints; reserved names cannot be overridden', () => {
  const variables = { TABLE: 'users', AWS_REGION: 'mars-1', PASSWORD: 'pa$$(word)' };
  // An image function's container gets the whole environment: no agent starts its runtime.
  const image = makeDeployment(
    fn({ code: { imageURI: 'registry.example/f:1' }, environment: { variables } }),
    cfg,
  ).spec!.template.spec!.containers[0]!;
  const env = Object.fromEntries(image.env!.map((e) => [e.name, e.value]));
  assert.equal(env.TABLE, 'users');
  assert.equal(env.AWS_REGION, 'eu-west-1');
  assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'f');
  assert.equal(env._HANDLER, 'index.handler');
  assert.equal(env.AWS_ENDPOINT_URL_LAMBDA, 'http://gw:8080');
  assert.equal(env.AWS_ENDPOINT_URL_DYNAMODB, 'http://tables:8000');
  assert.equal(env.AWS_ACCESS_KEY_ID, 'team-a');
  assert.equal(image.env!.filter((e) => e.name === 'AWS_REGION').length, 1);
  assert.equal(env.AWS_LAMBDA_RUNTIME_API, '127.0.0.1:9001');
  assert.equal(env.HOME, '/tmp');
  // The kubelet would expand `$(word)` and `$$`: escaped, the values arrive verbatim.
  assert.equal(env.PASSWORD, 'pa$$$$(word)');
  assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '$$LATEST');
  assert.deepEqual(image.env!.find((e) => e.name === 'AWS_LAMBDA_LOG_STREAM_NAME')?.valueFrom, {
    fieldRef: { fieldPath: 'metadata.name' },
  });
  // A managed runtime's agent computes the environment from the manifest: its own
  // container holds what it hands on, never the function's variables.
  const worker = makeDeployment(
    fn({ code: { inline: { 'index.mjs': '' } }, environment: { variables } }),
    cfg,
  ).spec!.template.spec!.containers[0]!;
  assert.deepEqual(Object.fromEntries(worker.env!.map((e) => [e.name, e.value])), {
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_LAMBDA: 'http://gw:8080',
    AWS_ENDPOINT_URL_DYNAMODB: 'http://tables:8000',
    AWS_ACCESS_KEY_ID: 'team-a',
    AWS_SECRET_ACCESS_KEY: 'selfless',
    SELFLESS_NAMESPACE: 'team-a',
  });
});

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
