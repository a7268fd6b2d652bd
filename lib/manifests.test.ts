import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { loadManifests } from './manifests.ts';

const table = (name: string, spec = 'keySchema: [{ attributeName: id, keyType: HASH }]') => `
apiVersion: selfless.dev/v1alpha1
kind: Table
metadata: { name: ${name} }
spec:
  attributeDefinitions: [{ attributeName: id, attributeType: S }]
  ${spec}
`;
const fn = `
apiVersion: selfless.dev/v1alpha1
kind: Function
metadata: { name: hello }
spec: { runtime: nodejs20.x, handler: index.handler, code: { inline: { index.mjs: "" } } }
`;

/** Loads a folder of these files; messages name files relative to the working directory. */
function load(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'selfless-manifests-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'nested', 'ignored.yaml'), table('nested'));
    const at = (file: string) => relative(process.cwd(), join(dir, file));
    return { ...loadManifests(dir), at };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Tables and Functions of every YAML and JSON document of the folder are read, with their files', () => {
  const json = JSON.stringify({
    apiVersion: 'selfless.dev/v1alpha1',
    kind: 'Table',
    metadata: { name: 'events', namespace: 'shop' },
    spec: {
      tableName: 'Events',
      attributeDefinitions: [{ attributeName: 'id', attributeType: 'S' }],
      keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
    },
  });
  const r = load({
    'app.yaml': `${fn}---${table('users')}---\napiVersion: v1\nkind: ConfigMap\n`,
    'events.json': json,
    'notes.txt': table('not-a-manifest'),
  });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.functions.map((f) => f.name),
    ['hello'],
  );
  assert.deepEqual(
    r.tables.map((t) => [t.file, t.namespace, t.name, t.tableName, t.spec.billingMode]),
    [
      [r.at('app.yaml'), 'default', 'users', 'users', 'PAY_PER_REQUEST'],
      [r.at('events.json'), 'shop', 'events', 'Events', 'PAY_PER_REQUEST'],
    ],
  );
});

const refused: [string, Record<string, string>, (at: (f: string) => string) => string][] = [
  [
    'a bad Table spec, with its file, its name, the field and the rule',
    { 'tables.yaml': table('users', 'keySchema: [{ attributeName: id, keyType: RANGE }]') },
    (at) =>
      `${at('tables.yaml')}: Table users: spec.keySchema: must list the HASH key first and at most one RANGE key after it`,
  ],
  [
    'every field error of a Table at once',
    {
      'tables.yaml': table(
        'users',
        'keySchema: [{ attributeName: id, keyType: HASH }]\n  billingMode: PROVISIONED\n  deletionProtectionEnabled: "no"',
      ),
    },
    (at) =>
      `${at('tables.yaml')}: Table users: spec.provisionedThroughput: is required when billingMode is PROVISIONED; spec.deletionProtectionEnabled: must be true or false`,
  ],
  [
    'a Table without a name',
    {
      'tables.yaml':
        'apiVersion: selfless.dev/v1alpha1\nkind: Table\nspec: { attributeDefinitions: [{ attributeName: id, attributeType: S }], keySchema: [{ attributeName: id, keyType: HASH }] }\n',
    },
    (at) => `${at('tables.yaml')}: Table ?: metadata.name: is required`,
  ],
  [
    'a Table name too short for DynamoDB',
    { 'tables.yaml': table('ab') },
    (at) =>
      `${at('tables.yaml')}: Table ab: metadata.name: a table name needs 3-255 characters of [a-zA-Z0-9_.-]; set spec.tableName`,
  ],
  [
    'one table declared in two files',
    {
      'a.yaml': table('users'),
      'b.yaml': table(
        'people',
        'tableName: users\n  keySchema: [{ attributeName: id, keyType: HASH }]',
      ),
    },
    (at) => `${at('b.yaml')}: Table users is also declared in ${at('a.yaml')}`,
  ],
  [
    'a document that is not YAML',
    { 'tables.yaml': `${table('users')}---\nkind: [Table\n` },
    (at) => `${at('tables.yaml')}: document 2: `,
  ],
];

for (const [what, files, message] of refused) {
  test(`refused: ${what}`, () => {
    const r = load(files);
    assert.equal(r.errors.length, 1, r.errors.join('\n'));
    assert.ok(r.errors[0]!.startsWith(message(r.at)), r.errors[0]);
  });
}

test('a bad Table does not keep the good manifests of the folder from loading', () => {
  const r = load({ 'a.yaml': `${fn}---${table('users')}`, 'b.yaml': table('x') });
  assert.equal(r.errors.length, 1);
  assert.deepEqual(
    [r.functions.map((f) => f.name), r.tables.map((t) => t.name)],
    [['hello'], ['users']],
  );
});
