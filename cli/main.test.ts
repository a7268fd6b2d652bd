import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { commands } from './main.ts';

const bin = join(import.meta.dirname, '..', 'bin', 'selfless.js');
const run = (...args: string[]) => promisify(execFile)(process.execPath, [bin, ...args]);

test('selfless --help lists every component command and exits 0', async () => {
  const { stdout } = await run('--help');
  for (const name of ['dev', 'gateway', 'tables', 'operator', 'agent']) {
    assert.ok(name in commands, `${name} is a command`);
    assert.match(stdout, new RegExp(`^  ${name} +\\S`, 'm'));
  }
});

test('an unknown command exits 2 and prints the usage', async () => {
  const err = (await run('nonsense').catch((e: unknown) => e)) as { code: number; stderr: string };
  assert.equal(err.code, 2);
  assert.match(err.stderr, /unknown command 'nonsense'/);
  assert.match(err.stderr, /Usage: selfless <command>/);
});
