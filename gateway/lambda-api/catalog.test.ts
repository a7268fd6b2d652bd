// The catalog's own rules, on the registry of `selfless dev`: publish: true in a
// manifest publishes every change of code or configuration, and nothing else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testFunction } from '../../test/support/gateway.ts';
import { FunctionRegistry } from '../registry.ts';
import { FunctionCatalog } from './catalog.ts';
import { registryWriter } from './registry-writer.ts';

test('publish: true publishes version 1 when the manifest loads, 2 after a code change, none after a reservation change', async () => {
  const registry = new FunctionRegistry();
  const catalog = new FunctionCatalog(registry, registryWriter(registry));
  const flush = () => new Promise((r) => setImmediate(r));
  const fn = testFunction('auto', {}, { publish: true });
  registry.put(fn);
  await flush();
  assert.deepEqual([...catalog.get('auto')!.versions.keys()], ['1']);

  registry.put({
    ...fn,
    spec: { ...fn.spec, code: { inline: { 'index.js': 'exports.handler = async () => 2' } } },
  });
  await flush();
  const record = catalog.get('auto')!;
  assert.deepEqual([...record.versions.keys()], ['1', '2']);
  assert.deepEqual(registry.resolve('auto', '1')?.spec.code, fn.spec.code);

  registry.put({
    ...registry.get('auto')!,
    spec: { ...registry.get('auto')!.spec, reservedConcurrentExecutions: 3 },
  });
  await flush();
  assert.deepEqual([...catalog.get('auto')!.versions.keys()], ['1', '2']);
});
