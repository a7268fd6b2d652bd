// `selfless agent extract-zip <zip> <dir>`: the init container of a zip function's
// worker pod, extracting the zip mounted from its ConfigMap into the code volume with
// the same helper the process driver uses (lib/zip.ts).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { extractZip, ZipError } from '../../lib/zip.ts';

export const EXTRACT_ZIP_USAGE = 'Usage: selfless agent extract-zip <zip> <directory>';

export function extractZipCommand(args: string[]): number {
  const [zip, dir, ...rest] = args;
  if (!zip || !dir || rest.length > 0) {
    process.stderr.write(`${EXTRACT_ZIP_USAGE}\n`);
    return 2;
  }
  try {
    const { files } = extractZip(readFileSync(zip), dir);
    process.stdout.write(JSON.stringify({ msg: 'code extracted', files, to: resolve(dir) }) + '\n');
    return 0;
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    process.stderr.write(`selfless agent extract-zip: ${zip}: ${err.message}\n`);
    return 1;
  }
}
