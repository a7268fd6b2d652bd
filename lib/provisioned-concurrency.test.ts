import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFunctionSpec } from './function.ts';
import { snapshotSpec } from './function-version.ts';
import { provisionedForVersion } from './provisioned-concurrency.ts';

const base = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  code: { inline: { 'index.mjs': '' } },
};

test('spec.provisionedConcurrencyConfigs is parsed, and a version snapshot leaves it out', () => {
  const configs = [
    { qualifier: '1', provisionedConcurrentExecutions: 2 },
    { qualifier: 'live', provisionedConcurrentExecutions: 1 },
  ];
  const r = parseFunctionSpec({ ...base, provisionedConcurrencyConfigs: configs });
  assert.ok(r.ok);
  assert.deepEqual(r.value.provisionedConcurrencyConfigs, configs);
  assert.equal(snapshotSpec(r.value).provisionedConcurrencyConfigs, undefined);
});

test('a config on $LATEST, a qualifier twice or a count below 1 is refused', () => {
  const refused = (configs: unknown, message: RegExp) => {
    const r = parseFunctionSpec({ ...base, provisionedConcurrencyConfigs: configs });
    assert.ok(!r.ok);
    assert.match(r.errors.map((e) => `${e.field}: ${e.message}`).join('\n'), message);
  };
  refused(
    [{ qualifier: '$LATEST', provisionedConcurrentExecutions: 1 }],
    /provisionedConcurrencyConfigs\[0\]\.qualifier: must be a published version number or an alias name/,
  );
  refused(
    [
      { qualifier: '1', provisionedConcurrentExecutions: 1 },
      { qualifier: '1', provisionedConcurrentExecutions: 2 },
    ],
    /1 is declared twice/,
  );
  refused(
    [{ qualifier: '1', provisionedConcurrentExecutions: 0 }],
    /provisionedConcurrentExecutions: must be an integer from 1/,
  );
});

test("a version holds its own config and its share of a weighted alias's, rounded up", () => {
  const configs = [
    { qualifier: '1', provisionedConcurrentExecutions: 2 },
    { qualifier: 'live', provisionedConcurrentExecutions: 3 },
  ];
  const route = (alias: string) =>
    alias === 'live' ? { functionVersion: '2', additionalVersionWeights: { '3': 0.5 } } : undefined;
  assert.equal(provisionedForVersion(configs, route, '1'), 2);
  assert.equal(provisionedForVersion(configs, route, '2'), 2);
  assert.equal(provisionedForVersion(configs, route, '3'), 2);
  assert.equal(provisionedForVersion(configs, route, '4'), 0);
});
