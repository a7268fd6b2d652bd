import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import tseslint from 'typescript-eslint';

// Dependencies flow one way (docs/architecture.md): a component imports lib/ and crds/,
// never another component; cli/ is the binary and starts each component through its
// main.ts only; test/ and bench/ may reach anything, and nothing in production reaches
// them. A component's own tests may use test/support/ and test/services/.
const COMPONENTS = ['gateway', 'operator', 'tables', 'runtime-images', 'charts'];
const SHARED = ['lib', 'crds'];
const ENTRY = {
  gateway: 'main.ts',
  operator: 'main.ts',
  tables: 'main.ts',
  'runtime-images': 'agent/main.ts',
};
const TEST_ONLY = ['test', 'bench', 'examples'];

const otherComponents = (self) => COMPONENTS.filter((c) => c !== self);
const zone = (target, from, message, except) => ({
  target: `./${target}`,
  from: `./${from}`,
  ...(except && { except }),
  message,
});
const componentRule = (c, from) =>
  zone(
    c,
    from,
    `components import only lib/ and crds/: move what ${c}/ and ${from}/ share into lib/`,
  );

function zones({ tests }) {
  const out = [];
  for (const c of COMPONENTS) {
    for (const other of [...otherComponents(c), 'cli']) out.push(componentRule(c, other));
  }
  for (const s of SHARED) {
    for (const from of [...COMPONENTS, 'cli']) {
      out.push(
        zone(s, from, `lib/ and crds/ are shared by every component and import none of them`),
      );
    }
  }
  for (const c of COMPONENTS) {
    out.push(
      zone(
        'cli',
        c,
        `cli/ starts a component through its ${ENTRY[c] ?? 'main.ts'} only`,
        ENTRY[c] ? [`./${ENTRY[c]}`] : [],
      ),
    );
  }
  for (const t of TEST_ONLY) {
    for (const target of [...COMPONENTS, ...SHARED, 'cli']) {
      out.push(
        zone(
          target,
          t,
          `production code never imports ${t}/`,
          tests && t === 'test' ? ['./support', './services'] : undefined,
        ),
      );
    }
  }
  return out;
}

const productionFolders = [...COMPONENTS, ...SHARED, 'cli', 'bin'].map((f) => `${f}/**`);

export default tseslint.config(
  { ignores: ['node_modules/', '**/fixtures/', 'charts/**/templates/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: productionFolders,
    ignores: ['**/*.test.ts'],
    plugins: { import: importPlugin },
    rules: { 'import/no-restricted-paths': ['error', { zones: zones({ tests: false }) }] },
  },
  {
    files: productionFolders.map((f) => `${f.slice(0, -3)}/**/*.test.ts`),
    plugins: { import: importPlugin },
    rules: { 'import/no-restricted-paths': ['error', { zones: zones({ tests: true }) }] },
  },
);
