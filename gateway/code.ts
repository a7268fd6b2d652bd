// Puts a function's code on local disk for the process driver: inline files are
// written out, a zip is extracted (lib/zip.ts, as the worker pod's init container
// does), a directory is used where it is.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import type { FunctionDefinition } from '../lib/function.ts';
import { DEFAULT_MODE, extractZip, ZipError } from '../lib/zip.ts';

export class CodeError extends Error {}

/** Inline files carry no mode: they get the one a zip entry without one gets. */
function writeFiles(root: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    const target = normalize(join(root, name));
    if (!target.startsWith(root + '/'))
      throw new CodeError(`code file ${name} escapes the function directory`);
    if (name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    chmodSync(target, DEFAULT_MODE);
  }
}

/** Returns the directory holding the code; `scratch` is where copies may go. */
export function materializeCode(fn: FunctionDefinition, scratch = tmpdir()): string {
  const code = fn.spec.code;
  if (code.directory !== undefined) {
    const dir = isAbsolute(code.directory)
      ? code.directory
      : resolve(fn.baseDir ?? process.cwd(), code.directory);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new CodeError(`spec.code.directory ${dir} is not a directory`);
    }
    return dir;
  }
  if (code.inline !== undefined || code.zipFile !== undefined) {
    const dir = mkdtempSync(join(scratch, `selfless-code-${fn.name}-`));
    if (code.inline !== undefined) writeFiles(dir, code.inline);
    else {
      try {
        extractZip(Buffer.from(code.zipFile!, 'base64'), dir);
      } catch (err) {
        if (!(err instanceof ZipError)) throw err;
        throw new CodeError(`spec.code.zipFile: ${err.message}`);
      }
    }
    return dir;
  }
  if (code.imageURI !== undefined) {
    throw new CodeError(
      'spec.code.imageURI needs the kubernetes driver: a local process cannot run an image',
    );
  }
  throw new CodeError(
    'spec.code.configMapRef needs the kubernetes driver: locally use inline, zipFile or directory',
  );
}
