// Misspelt Function fields are refused with the nearest known name, by the parser
// `selfless dev`, the gateway's watch and the operator share; and every field the
// CRD's schema has is known to it (so nothing the API server accepts is refused here).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { functionCrd, type Schema } from '../crds/schema.ts';
import { ANY, FUNCTION_SPEC_FIELDS, type Tree } from './function-fields.ts';
import { parseFunctionManifest } from './function.ts';
import { loadManifests } from './manifests.ts';

const manifest = (spec: Record<string, unknown>) => ({
  apiVersion: 'selfless.dev/v1alpha1',
  kind: 'Function',
  metadata: { name: 'typo' },
  spec: {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: { inline: { 'index.js': '' } },
    ...spec,
  },
});

test('reservedConcurrentExecution (a typo) is refused, naming reservedConcurrentExecutions', () => {
  const parsed = parseFunctionManifest(manifest({ reservedConcurrentExecution: 0 }));
  assert.deepEqual(parsed, {
    ok: false,
    errors: [
      {
        field: 'spec.reservedConcurrentExecution',
        message: 'unknown field (did you mean reservedConcurrentExecutions?)',
      },
    ],
  });
});

test('unknown fields are found at any depth, in lists too, and at the top level', () => {
  const parsed = parseFunctionManifest({
    ...manifest({
      code: { inline: { 'a.js': '' }, zipfile: 'x' },
      triggers: [{ http: { method: 'GET', pth: '/x' } }],
      functionEventInvokeConfig: { destinationConfig: { onFailure: { destinaton: 'queue:q' } } },
    }),
    sepc: {},
  });
  assert.equal(parsed.ok, false);
  assert.deepEqual(
    !parsed.ok &&
      parsed.errors
        .filter((e) => e.message.startsWith('unknown field'))
        .map((e) => `${e.field}: ${e.message}`)
        .sort(),
    [
      'sepc: unknown field (did you mean spec?)',
      'spec.code.zipfile: unknown field (did you mean zipFile?)',
      'spec.functionEventInvokeConfig.destinationConfig.onFailure.destinaton: unknown field (did you mean destination?)',
      'spec.triggers[0].http.pth: unknown field (did you mean path?)',
    ],
  );
});

test('free-form values (inline files, variables, a schedule input) may hold any keys', () => {
  const parsed = parseFunctionManifest(
    manifest({
      environment: { variables: { ANYTHING: 'x' } },
      triggers: [{ schedule: { expression: 'rate(1 hour)', input: { whatever: { deep: 1 } } } }],
    }),
  );
  assert.equal(parsed.ok, true);
});

test('selfless dev refuses the manifest file, naming the file, the field and the nearest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selfless-fields-'));
  try {
    writeFileSync(
      join(dir, 'fn.yaml'),
      `apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: throttled }
spec:
  runtime: nodejs20.x
  handler: index.handler
  reservedConcurrentExecution: 0
  code: { inline: { index.js: "" } }
`,
    );
    const loaded = loadManifests(dir);
    assert.equal(loaded.functions.length, 0);
    assert.equal(loaded.errors.length, 1);
    assert.match(
      loaded.errors[0]!,
      /fn\.yaml: .*spec\.reservedConcurrentExecution: unknown field \(did you mean reservedConcurrentExecutions\?\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The CRD schema's fields as a tree: what the API server stores for a Function spec. */
function crdFields(schema: Schema): Tree | typeof ANY | readonly [Tree] {
  if (schema.type === 'array' && schema.items) return [crdFields(schema.items) as Tree];
  if (!schema.properties) return ANY;
  return Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, crdFields(v)]));
}

function missing(crd: unknown, ours: unknown, path: string): string[] {
  if (crd === ANY || ours === ANY) return [];
  if (Array.isArray(crd)) return missing(crd[0], (ours as unknown[])[0], `${path}[]`);
  return Object.entries(crd as Tree).flatMap(([k, v]) =>
    (ours as Tree)[k] === undefined
      ? [`${path}.${k}`]
      : missing(v, (ours as Tree)[k], `${path}.${k}`),
  );
}

test('every field of the CRD’s Function spec is a known field', () => {
  const crd = functionCrd.spec as { versions: { schema: { openAPIV3Schema: Schema } }[] };
  const root = crd.versions[0]!.schema.openAPIV3Schema;
  const spec = root.properties!.spec!;
  assert.deepEqual(missing(crdFields(spec), FUNCTION_SPEC_FIELDS, 'spec'), []);
});
