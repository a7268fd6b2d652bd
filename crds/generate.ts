// `npm run gen:crds`: writes crds/*.yaml from crds/schema.ts (the one source of truth).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrds } from './render.ts';

for (const [file, text] of Object.entries(await renderCrds())) {
  writeFileSync(join(import.meta.dirname, file), text);
  process.stdout.write(`wrote crds/${file}\n`);
}
