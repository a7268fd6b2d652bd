// Puts a function's code on local disk for the process driver: inline files are
// written out and a zip is extracted (lib/code.ts, as a pool worker does; the zip as
// the worker pod's init container does), a directory is used where it is.
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { CodeError, writeCode } from '../lib/code.ts';
import type { FunctionDefinition } from '../lib/function.ts';

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
    writeCode(code, dir);
    return dir;
  }
  if (code.imageURI !== undefined) {
    throw new CodeError(
      'spec.code.imageURI needs the kubernetes driver: a local process cannot run an image',
    );
  }
  const field = code.contentRef !== undefined ? 'contentRef' : 'configMapRef';
  throw new CodeError(
    `spec.code.${field} needs the kubernetes driver: locally use inline, zipFile or directory`,
  );
}
