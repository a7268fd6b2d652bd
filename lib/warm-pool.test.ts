import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFunctionSpec, type FunctionDefinition } from './function.ts';
import {
  decodeOrder,
  decodeOrderAnswer,
  encodeOrder,
  encodeOrderAnswer,
  parsePoolKey,
  poolKey,
  poolable,
} from './warm-pool.ts';

function def(spec: Record<string, unknown>, namespace = 'team'): FunctionDefinition {
  const parsed = parseFunctionSpec({ runtime: 'nodejs20.x', handler: 'index.handler', ...spec });
  assert.ok(parsed.ok);
  return { name: 'f', namespace, spec: parsed.value };
}
const inline = { inline: { 'index.mjs': 'export const handler = async () => 1;' } };

test('a pool key names no function and reads back as its namespace and runtime', () => {
  assert.deepEqual(parsePoolKey(poolKey('team', 'python3.13')), ['team', 'python3.13']);
  assert.deepEqual(parsePoolKey(poolKey('default', 'nodejs20.x')), ['default', 'nodejs20.x']);
  assert.equal(parsePoolKey('team/f'), undefined);
  assert.equal(parsePoolKey('team/@pool.cobol'), undefined);
});

test('only functions whose code travels in the definition, one event per environment, are poolable', () => {
  assert.equal(poolable(def({ code: inline })), true);
  assert.equal(poolable(def({ code: { zipFile: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' } })), true);
  assert.equal(poolable(def({ code: { imageURI: 'x:1' } })), false);
  assert.equal(poolable(def({ code: { configMapRef: { name: 'c' } } })), false);
  assert.equal(poolable(def({ code: inline, perExecutionEnvironmentMaxConcurrency: 4 })), false);
  assert.equal(poolable({ ...def({ code: inline }), version: '3' }), false);
});

test('an order carries the whole definition, code included, and is validated as a manifest', () => {
  const fn = def({ code: inline, memorySize: 256, environment: { variables: { A: '1' } } });
  assert.deepEqual(decodeOrder(encodeOrder(fn)), fn);
  assert.match(String(decodeOrder(Buffer.from('nope'))), /not JSON/);
  assert.match(
    String(decodeOrder(Buffer.from(JSON.stringify({ kind: 'Function' })))),
    /not a valid Function/,
  );
  assert.match(
    String(decodeOrder(encodeOrder(def({ code: { imageURI: 'x:1' } })))),
    /cannot serve/,
  );
});

test("an order's answer names the pod, and anything else is no answer", () => {
  assert.deepEqual(decodeOrderAnswer(encodeOrderAnswer({ pod: 'p-1' })), { pod: 'p-1' });
  assert.equal(decodeOrderAnswer(Buffer.from('{"pod":""}')), undefined);
  assert.equal(decodeOrderAnswer(Buffer.from('x')), undefined);
});
