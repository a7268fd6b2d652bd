// `npm run gen:crds`: writes crds/*.yaml from crds/schema.ts (the one source of truth).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrds } from './render.ts';

// The chart ships the same files in its crds/ folder (Helm installs those first).
const targets = ['crds', 'charts/selfless/crds'];
const root = join(import.meta.dirname, '..');
for (const [file, text] of Object.entries(await renderCrds())) {
  for (const dir of targets) {
    writeFileSync(join(root, dir, file), text);
    process.stdout.write(`wrote ${dir}/${file}\n`);
  }
}
