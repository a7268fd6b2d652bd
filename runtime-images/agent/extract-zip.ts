// `selfless agent extract-zip [--sha256 HEX] <zip|chunk...> <dir>`: the init container
// of a zip function's worker pod (and of each layer), extracting into the code volume
// with the same helper the process driver uses (lib/zip.ts). A zip too big for a
// resource comes as the chunks of the content store (lib/content-ref.ts), mounted in
// order: they are joined and checked against the SHA-256 the resource names before
// anything is written, so a missing, stale or corrupt chunk extracts nothing.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { extractZip, ZipError } from '../../lib/zip.ts';

export const EXTRACT_ZIP_USAGE =
  'Usage: selfless agent extract-zip [--sha256 HEX] <zip or its chunks, in order...> <directory>';

export function extractZipCommand(args: string[]): number {
  let sha256: string | undefined;
  let rest = args;
  if (rest[0] === '--sha256') {
    sha256 = rest[1];
    rest = rest.slice(2);
  }
  const parts = rest.slice(0, -1);
  const dir = rest.at(-1);
  if (!dir || parts.length === 0 || (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256))) {
    process.stderr.write(`${EXTRACT_ZIP_USAGE}\n`);
    return 2;
  }
  const what = parts.length === 1 ? parts[0]! : `${parts[0]} (+${parts.length - 1} chunks)`;
  try {
    const zip = Buffer.concat(parts.map((p) => readFileSync(p)));
    if (sha256 !== undefined) {
      const got = createHash('sha256').update(zip).digest('hex');
      if (got !== sha256) {
        process.stderr.write(
          `selfless agent extract-zip: ${what}: SHA-256 ${got} of ${zip.length} bytes, expected ${sha256}\n`,
        );
        return 1;
      }
    }
    const { files } = extractZip(zip, dir);
    process.stdout.write(JSON.stringify({ msg: 'code extracted', files, to: resolve(dir) }) + '\n');
    return 0;
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
    process.stderr.write(`selfless agent extract-zip: ${what}: ${err.message}\n`);
    return 1;
  }
}
