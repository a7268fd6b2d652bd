// Writes code that travels in a function's definition (inline files, a base64 zip)
// into a directory: the process driver's copies (gateway/code.ts) and a warm-pool
// worker taking its function (runtime-images/agent/pool.ts) put it in place alike.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { FunctionCode } from './function.ts';
import { DEFAULT_MODE, extractZip, ZipError } from './zip.ts';

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

/** Writes `code`'s inline files, or extracts its zip, into the existing directory `dir`. */
export function writeCode(code: Pick<FunctionCode, 'inline' | 'zipFile'>, dir: string): void {
  if (code.inline !== undefined) {
    writeFiles(dir, code.inline);
    return;
  }
  try {
    extractZip(Buffer.from(code.zipFile ?? '', 'base64'), dir);
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    throw new CodeError(`spec.code.zipFile: ${err.message}`);
  }
}
