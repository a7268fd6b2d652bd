// A function's zip gives the same files with the same modes under `selfless dev` (the
// process driver's code copy) and in a worker pod (the operator's extract-code init
// container, run as the pod would run it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { strToU8, zipSync, type Zippable } from 'fflate';
import { materializeCode } from '../gateway/code.ts';
import { makeDeployment } from '../operator/function/deployment.ts';
import { functionObject, workerConfig } from './support/function-object.ts';

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, '../bin/selfless.js');
const scratch = mkdtempSync(join(tmpdir(), 'selfless-zip-code-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Every path under `dir` with its mode and content. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const st = lstatSync(path);
      const mode = (st.mode & 0o777).toString(8);
      if (st.isDirectory()) {
        out[relative(dir, path) + '/'] = mode;
        walk(path);
      } else out[relative(dir, path)] = `${mode} ${readFileSync(path, 'utf8')}`;
    }
  };
  walk(dir);
  return out;
}

test('a zip gives the same files and modes under selfless dev and in a worker pod', async () => {
  const unix = (content: string, mode: number) =>
    [strToU8(content), { os: 3, attrs: mode * 0x10000 }] as Zippable[string];
  const zip = zipSync({
    bootstrap: unix('#!/bin/sh\nexec ./bin/app\n', 0o100755),
    'bin/app': unix('app', 0o100750),
    'config.json': unix('{}', 0o100644),
    // Made on Windows: no mode stored.
    'vendor/lib.py': strToU8('x = 1'),
  });
  const fn = functionObject({
    runtime: 'provided',
    handler: 'app',
    code: { zipFile: Buffer.from(zip).toString('base64') },
  });

  const local = materializeCode(fn.def, scratch);

  const pod = makeDeployment(fn, workerConfig).spec!.template.spec!;
  const init = pod.initContainers!.find((c) => c.name === 'extract-code')!;
  const mounted = join(scratch, 'code.zip');
  writeFileSync(mounted, zip);
  const task = join(scratch, 'task');
  const args = init.args!.map((a) =>
    a === '/var/selfless/zip/code.zip' ? mounted : a === '/var/task' ? task : a,
  );
  const { stdout } = await run(process.execPath, [bin, ...args]);
  assert.deepEqual(JSON.parse(stdout), { msg: 'code extracted', files: 4, to: task });

  assert.deepEqual(tree(task), tree(local));
  assert.deepEqual(tree(local), {
    'bin/': '755',
    'bin/app': '750 app',
    bootstrap: '755 #!/bin/sh\nexec ./bin/app\n',
    'config.json': '644 {}',
    'vendor/': '755',
    'vendor/lib.py': '755 x = 1',
  });
});
