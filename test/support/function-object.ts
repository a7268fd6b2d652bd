// The input of the Function builders' tests (operator/function/*.test.ts): a worker
// configuration and a Function object from a partial spec, parsed as the operator does.
import assert from 'node:assert/strict';
import { parseFunctionSpec, type FunctionSpec } from '../../lib/function.ts';
import type { FunctionObject, WorkerConfig } from '../../operator/function/function-object.ts';

export const workerConfig: WorkerConfig = {
  gatewayUrl: 'http://gw:8080',
  tablesUrl: 'http://tables:8000',
  region: 'eu-west-1',
  runtimeImages: { 'nodejs20.x': 'rt/node20:1', 'python3.12': 'rt/py312:1' },
  agentImage: 'selfless:1',
  replicas: 3,
};

export function functionObject(spec: Record<string, unknown>, name = 'f'): FunctionObject {
  const parsed = parseFunctionSpec({ runtime: 'nodejs20.x', handler: 'index.handler', ...spec });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return { def: { name, namespace: 'team-a', spec: parsed.value as FunctionSpec }, uid: 'uid-1' };
}
