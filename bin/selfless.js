#!/usr/bin/env node
// The package's only JavaScript file: it lets `npx selfless` run the TypeScript
// sources directly (through tsx) so a fresh clone needs no build step. The images
// set SELFLESS_BUNDLE_DIR to their ahead-of-time bundles of each command
// (cli/bundle.ts): a command bundled there starts without tsx.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [command, ...rest] = process.argv.slice(2);
const bundles = process.env.SELFLESS_BUNDLE_DIR;
const bundle = bundles && command && /^[a-z-]+$/.test(command) && join(bundles, `${command}.mjs`);
if (bundle && existsSync(bundle)) {
  const { run } = await import(pathToFileURL(bundle).href);
  process.exitCode = await run(rest);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
