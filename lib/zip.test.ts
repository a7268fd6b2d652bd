import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { DEFAULT_MODE, extractZip, readZip, ZipError } from './zip.ts';

const scratch = mkdtempSync(join(tmpdir(), 'selfless-zip-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(scratch, `x${n++}`);

/** An entry made on Unix with this st_mode. */
const unix = (content: string, mode: number) =>
  [strToU8(content), { os: 3, attrs: mode * 0x10000 }] as Zippable[string];
const modeOf = (path: string) => statSync(path).mode & 0o777;

test('keeps the Unix permissions stored in the zip, for files and directories', () => {
  const dir = fresh();
  const zip = Buffer.from(
    zipSync({
      bootstrap: unix('#!/bin/sh\n', 0o100755),
      'data.json': unix('{}', 0o100644),
      'private.txt': unix('s', 0o100600),
      'bin/': [new Uint8Array(), { os: 3, attrs: 0o040750 * 0x10000 }],
      'bin/tool': unix('t', 0o100750),
      // No file type bits, only permissions: still a file with these bits.
      'plain.txt': unix('p', 0o644),
    }),
  );
  assert.deepEqual(extractZip(zip, dir), { files: 5 });
  assert.equal(modeOf(join(dir, 'bootstrap')), 0o755);
  assert.equal(modeOf(join(dir, 'data.json')), 0o644);
  assert.equal(modeOf(join(dir, 'private.txt')), 0o600);
  assert.equal(modeOf(join(dir, 'bin')), 0o750);
  assert.equal(modeOf(join(dir, 'bin', 'tool')), 0o750);
  assert.equal(modeOf(join(dir, 'plain.txt')), 0o644);
  assert.equal(readFileSync(join(dir, 'bootstrap'), 'utf8'), '#!/bin/sh\n');
});

test('an entry that carries no Unix permissions (a zip made on Windows) gets 0755', () => {
  const dir = fresh();
  const zip = Buffer.from(
    zipSync({
      bootstrap: strToU8('#!/bin/sh\n'),
      'lib/a.py': [strToU8('a'), { os: 0 }],
      'empty-unix-attributes': [strToU8('e'), { os: 3, attrs: 0 }],
    }),
  );
  extractZip(zip, dir);
  assert.equal(DEFAULT_MODE, 0o755);
  for (const f of ['bootstrap', 'lib/a.py', 'empty-unix-attributes', 'lib'])
    assert.equal(modeOf(join(dir, f)), 0o755, f);
});

test('refuses an entry that leaves the directory, before writing anything', () => {
  for (const name of ['../escape.txt', 'a/../../escape.txt', '/etc/escape.txt']) {
    const dir = fresh();
    const zip = Buffer.from(zipSync({ 'index.mjs': strToU8('ok'), [name]: strToU8('x') }));
    assert.throws(
      () => extractZip(zip, dir),
      (err: unknown) => err instanceof ZipError && err.message.includes('outside the code'),
      name,
    );
    assert.ok(!existsSync(dir), `${name}: nothing written`);
  }
  assert.ok(!existsSync(join(scratch, 'escape.txt')));
});

test('symbolic links are kept, and made last so nothing is written through one', () => {
  const dir = fresh();
  const link = (target: string) =>
    [strToU8(target), { os: 3, attrs: 0o120777 * 0x10000 }] as Zippable[string];
  extractZip(
    Buffer.from(
      zipSync({ 'lib/libx.so.1': unix('elf', 0o100755), 'lib/libx.so': link('libx.so.1') }),
    ),
    dir,
  );
  assert.ok(lstatSync(join(dir, 'lib', 'libx.so')).isSymbolicLink());
  assert.equal(readlinkSync(join(dir, 'lib', 'libx.so')), 'libx.so.1');
  assert.equal(readFileSync(join(dir, 'lib', 'libx.so'), 'utf8'), 'elf');

  // A link to a directory outside, then a file "inside" it: the file lands in a real
  // directory first, and the link cannot replace it.
  const outside = fresh();
  const evil = fresh();
  assert.throws(() =>
    extractZip(Buffer.from(zipSync({ out: link(outside), 'out/owned': strToU8('x') })), evil),
  );
  assert.ok(!existsSync(join(outside, 'owned')));
});

test('reads what other tools write: names, stored and deflated entries, zip64', () => {
  const dir = fresh();
  const zip = Buffer.from(
    zipSync({
      'stored.txt': [strToU8('plain'), { level: 0 }],
      'ünï.txt': strToU8('x'.repeat(9999)),
    }),
  );
  extractZip(zip, dir);
  assert.equal(readFileSync(join(dir, 'stored.txt'), 'utf8'), 'plain');
  assert.equal(readFileSync(join(dir, 'ünï.txt'), 'utf8'), 'x'.repeat(9999));

  // Python's zipfile, forced to zip64 records, with Unix modes.
  const script = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    i = zipfile.ZipInfo("app/handler.py"); i.external_attr = 0o100640 << 16; i.create_system = 3
    with z.open(i, "w", force_zip64=True) as f: f.write(b"def main(e, c): return 1\\n")
`;
  const path = join(scratch, 'python.zip');
  execFileSync('python3', ['-c', script, path]);
  const python = fresh();
  extractZip(readFileSync(path), python);
  assert.equal(
    readFileSync(join(python, 'app', 'handler.py'), 'utf8'),
    'def main(e, c): return 1\n',
  );
  assert.equal(modeOf(join(python, 'app', 'handler.py')), 0o640);
});

test('damaged or oversized archives are refused with what is wrong', () => {
  assert.throws(() => readZip(Buffer.from('not a zip at all, not even close')), /not a zip/);
  const zip = Buffer.from(zipSync({ 'a.txt': strToU8('y'.repeat(5000)) }));
  const cd = zip.readUInt32LE(zip.length - 22 + 16);
  // An entry that inflates past the size it declares (a zip bomb's trick).
  const lying = Buffer.from(zip);
  lying.writeUInt32LE(10, cd + 24);
  assert.throws(() => readZip(lying)[0]!.data(), /a\.txt does not inflate/);
  // Declared sizes over Lambda's 250 MB: refused before anything is written.
  const huge = Buffer.from(zip);
  huge.writeUInt32LE(300 * 1024 * 1024, cd + 24);
  const dir = fresh();
  assert.throws(() => extractZip(huge, dir), /over 250 MB/);
  assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
  assert.throws(() => readZip(zip.subarray(0, zip.length - 30)), ZipError);
});
