// Qualifier resolution in the registry: versions, aliases, and weighted routing
// drawn from an injected (seeded) random source.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testFunction } from '../test/support/gateway.ts';
import { FunctionRegistry } from './registry.ts';

/** mulberry32: a small seeded generator, so the draw is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function registryWithVersions(random: () => number): FunctionRegistry {
  const registry = new FunctionRegistry(random);
  const latest = testFunction('f');
  registry.put(latest);
  registry.putVersion({ ...latest, version: '1' });
  registry.putVersion({ ...latest, version: '2' });
  return registry;
}

test('an alias with a 10 % additional version weight sends about 10 % of calls there', () => {
  const registry = registryWithVersions(seeded(13));
  registry.putAlias('f', 'live', { functionVersion: '1', additionalVersionWeights: { '2': 0.1 } });
  const n = 10_000;
  let second = 0;
  for (let i = 0; i < n; i++) if (registry.resolve('f', 'live')?.version === '2') second++;
  // Binomial(10000, 0.1): sd = 30; 4 sd either side fails a wrong weight (0.05 or 0.2) surely.
  assert.ok(Math.abs(second - 1000) < 120, `version 2 got ${second} of ${n}`);
});

test('weight 0 and weight 1 route all calls to one version', () => {
  const registry = registryWithVersions(seeded(7));
  registry.putAlias('f', 'none', { functionVersion: '1', additionalVersionWeights: { '2': 0 } });
  registry.putAlias('f', 'all', { functionVersion: '1', additionalVersionWeights: { '2': 1 } });
  for (let i = 0; i < 200; i++) {
    assert.equal(registry.resolve('f', 'none')?.version, '1');
    assert.equal(registry.resolve('f', 'all')?.version, '2');
  }
});

test('qualifiers: none and $LATEST are $LATEST, numbers are versions, unknown ones nothing', () => {
  const registry = registryWithVersions(Math.random);
  assert.equal(registry.resolve('f')?.version, undefined);
  assert.equal(registry.resolve('f', '$LATEST')?.version, undefined);
  assert.equal(registry.resolve('f', '2')?.version, '2');
  assert.equal(registry.resolve('f', '3'), undefined);
  assert.equal(registry.resolve('f', 'nope'), undefined);
  assert.equal(registry.get('f:1')?.version, '1', 'a version is found by its worker key');
});

test('removing a function removes its versions, and a reservation applies to them all', () => {
  const registry = registryWithVersions(Math.random);
  registry.setReserved('f', 3);
  assert.equal(registry.get('f:2')?.spec.reservedConcurrentExecutions, 3);
  const removed: (string | undefined)[] = [];
  registry.on('removed', (fn) => removed.push(fn.version));
  registry.remove('f');
  assert.deepEqual(removed.sort(), ['1', '2', undefined].sort());
  assert.equal(registry.get('f:1'), undefined);
  assert.deepEqual(registry.served(), []);
});

test('aliases a definition declares in spec.aliases route calls, beside those put one by one; setAliases replaces them all', () => {
  const registry = registryWithVersions(seeded(3));
  registry.putAlias('f', 'made', { functionVersion: '2' });
  const latest = registry.get('f')!;
  registry.put({
    ...latest,
    spec: { ...latest.spec, aliases: [{ name: 'declared', functionVersion: '1' }] },
  });
  assert.equal(registry.resolve('f', 'declared')?.version, '1');
  assert.equal(registry.resolve('f', 'made')?.version, '2');
  registry.setAliases('f', new Map([['only', { functionVersion: '$LATEST' }]]));
  assert.equal(registry.resolve('f', 'made'), undefined);
  assert.equal(registry.resolve('f', 'only')?.version, undefined);
  assert.ok(registry.resolve('f', 'only'));
  assert.deepEqual(
    registry
      .versionsOf('f')
      .map((v) => v.version)
      .sort(),
    ['1', '2'],
  );
});

test('only new code or configuration makes a new definition version: function-level fields do not', () => {
  const registry = new FunctionRegistry();
  const fn = testFunction('f');
  registry.put(fn);
  const first = registry.version('f');
  registry.put({
    ...fn,
    spec: {
      ...fn.spec,
      reservedConcurrentExecutions: 3,
      provisionedConcurrencyConfigs: [{ qualifier: '1', provisionedConcurrentExecutions: 1 }],
    },
  });
  assert.equal(registry.version('f'), first, 'environments of $LATEST keep running');
  registry.put({ ...fn, spec: { ...fn.spec, timeout: 9 } });
  assert.equal(registry.version('f'), first + 1);
});
