// Init container of zip-code workers: extracts the function's zip (mounted from
// its ConfigMap) into the code volume, refusing entries that would escape it.
// Plain JavaScript on purpose: it runs before anything else, with only node and fflate.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { unzipSync } from 'fflate';

const [zipPath, dest] = process.argv.slice(2);
if (!zipPath || !dest) {
  process.stderr.write('usage: extract-zip.mjs <zip> <directory>\n');
  process.exit(2);
}
const root = resolve(dest);
const files = unzipSync(readFileSync(zipPath));
let count = 0;
for (const [name, data] of Object.entries(files)) {
  const target = resolve(root, name);
  if (target !== root && !target.startsWith(root + sep)) {
    process.stderr.write(`refusing ${name}: outside ${root}\n`);
    process.exit(1);
  }
  if (name.endsWith('/')) {
    mkdirSync(target, { recursive: true });
    continue;
  }
  mkdirSync(dirname(target), { recursive: true });
  // Lambda keeps the executable bit for bootstrap files; zips made on Windows lack it.
  writeFileSync(target, data, { mode: 0o755 });
  count++;
}
process.stdout.write(JSON.stringify({ msg: 'code extracted', files: count, to: root }) + '\n');
