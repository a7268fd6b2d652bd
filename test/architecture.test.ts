// The dependency rule of docs/architecture.md, checked two ways: by walking every
// import in the tree (independent of the lint configuration), and by showing that the
// lint rule `npm test` runs refuses an import planted where it must not be.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ESLint } from 'eslint';

const root = resolve(import.meta.dirname, '..');
const COMPONENTS = new Set(['gateway', 'operator', 'tables', 'runtime-images', 'charts']);
const SHARED = new Set(['lib', 'crds']);
const TESTS = new Set(['test', 'bench']);

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.(ts|mjs|js)$/.test(entry)) yield path;
  }
}

interface Edge {
  file: string;
  target: string;
}

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of sources(root)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom|\bimport\(?)\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      out.push({
        file: relative(root, file),
        target: relative(root, resolve(dirname(file), m[1]!)),
      });
    }
  }
  return out;
}

const top = (path: string) => path.split('/')[0]!;

/** Why an import breaks the rule, or undefined when it keeps it. */
function violation({ file, target }: Edge): string | undefined {
  const from = top(file);
  const to = top(target);
  if (from === to || TESTS.has(from)) return undefined;
  const isTest = file.endsWith('.test.ts');
  if (TESTS.has(to)) {
    const support = target.startsWith('test/support/') || target.startsWith('test/services/');
    return isTest && support ? undefined : 'production code imports test code';
  }
  if (SHARED.has(to)) return undefined;
  if (from === 'bin' && target === 'cli/main.ts') return undefined;
  if (from === 'cli') {
    const entry = /^(gateway|operator|tables)\/main\.ts$|^runtime-images\/agent\/main\.ts$/;
    return entry.test(target) ? undefined : 'cli/ reaches past a component main.ts';
  }
  if (COMPONENTS.has(from) || SHARED.has(from)) return `${from}/ imports ${to}/`;
  return undefined;
}

describe('dependencies flow one way', () => {
  test('no file in the tree imports another component, or test code from production', () => {
    const all = edges();
    assert.ok(all.length > 500, `the walk found the imports (${all.length})`);
    const bad = all.flatMap((e) => {
      const why = violation(e);
      return why ? [`${e.file} -> ${e.target}: ${why}`] : [];
    });
    assert.deepEqual(bad, []);
  });

  test('the checker itself flags each kind of import the rule forbids', () => {
    const cases: [Edge, boolean][] = [
      [{ file: 'gateway/x.ts', target: 'operator/main.ts' }, true],
      [{ file: 'lib/x.ts', target: 'gateway/app.ts' }, true],
      [{ file: 'tables/x.ts', target: 'test/support/tables.ts' }, true],
      [{ file: 'cli/dev.ts', target: 'gateway/app.ts' }, true],
      [{ file: 'tables/x.test.ts', target: 'test/support/tables.ts' }, false],
      [{ file: 'cli/dev.ts', target: 'gateway/main.ts' }, false],
      [{ file: 'operator/x.ts', target: 'lib/names.ts' }, false],
      [{ file: 'test/x.test.ts', target: 'operator/function/builders.ts' }, false],
    ];
    for (const [edge, forbidden] of cases) {
      assert.equal(violation(edge) !== undefined, forbidden, JSON.stringify(edge));
    }
  });

  test('the lint rule of npm test refuses a planted import from one component into another', async () => {
    const eslint = new ESLint({ cwd: root });
    const lint = async (filePath: string, code: string) =>
      (await eslint.lintText(code, { filePath: join(root, filePath) }))[0]!.messages.filter(
        (m) => m.ruleId === 'import/no-restricted-paths',
      );
    const planted = await lint(
      'gateway/planted.ts',
      "export { runOperator } from '../operator/main.ts';\n",
    );
    assert.equal(planted.length, 1, JSON.stringify(planted));
    assert.match(planted[0]!.message, /components import only lib\/ and crds\//);
    const intoLib = await lint(
      'lib/planted.ts',
      "export { makeGateway } from '../gateway/app.ts';\n",
    );
    assert.equal(intoLib.length, 1, JSON.stringify(intoLib));
    const testCode = await lint(
      'tables/planted.ts',
      "export { startHarness } from '../test/support/tables.ts';\n",
    );
    assert.equal(testCode.length, 1, JSON.stringify(testCode));
    const allowed = await lint(
      'gateway/planted.ts',
      "export { lambdaArn } from '../lib/names.ts';\n",
    );
    assert.deepEqual(allowed, []);
  });
});
