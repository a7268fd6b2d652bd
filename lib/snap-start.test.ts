import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFunctionSpec } from './function.ts';
import { snapStartOn } from './snap-start.ts';

const base = { handler: 'app.handler', code: { inline: { 'app.py': '' } } };

test('a manifest may set snapStart on a Python or Java runtime, not on Node.js or above 512 MB of /tmp', () => {
  const py = parseFunctionSpec({
    ...base,
    runtime: 'python3.12',
    snapStart: { applyOn: 'PublishedVersions' },
  });
  assert.ok(py.ok);
  assert.deepEqual(py.value.snapStart, { applyOn: 'PublishedVersions' });
  const node = parseFunctionSpec({
    ...base,
    handler: 'index.handler',
    runtime: 'nodejs22.x',
    snapStart: { applyOn: 'PublishedVersions' },
  });
  assert.ok(!node.ok);
  assert.deepEqual(node.errors, [
    {
      field: 'spec.snapStart',
      message: 'nodejs22.x is not supported for SnapStart enabled functions.',
    },
  ]);
  const big = parseFunctionSpec({
    ...base,
    runtime: 'python3.13',
    ephemeralStorage: { size: 513 },
    snapStart: { applyOn: 'PublishedVersions' },
  });
  assert.ok(!big.ok);
  const bad = parseFunctionSpec({ ...base, runtime: 'python3.12', snapStart: { applyOn: 'Yes' } });
  assert.ok(!bad.ok);
  assert.equal(bad.errors[0]?.field, 'spec.snapStart.applyOn');
  assert.ok(
    parseFunctionSpec({
      ...base,
      handler: 'index.handler',
      runtime: 'nodejs22.x',
      snapStart: { applyOn: 'None' },
    }).ok,
  );
});

test('only a published version of a Python function with PublishedVersions restores', () => {
  const spec = {
    runtime: 'python3.12' as const,
    snapStart: { applyOn: 'PublishedVersions' as const },
  };
  assert.equal(snapStartOn({ version: '1', spec }), true);
  assert.equal(snapStartOn({ spec }), false);
  assert.equal(
    snapStartOn({ version: '1', spec: { ...spec, snapStart: { applyOn: 'None' } } }),
    false,
  );
  // Java takes the setting, as on Lambda, but its environments still init cold here.
  assert.equal(snapStartOn({ version: '1', spec: { ...spec, runtime: 'java21' } }), false);
});
