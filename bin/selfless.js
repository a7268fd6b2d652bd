#!/usr/bin/env node
// The package's only JavaScript file: it lets `npx selfless` run the TypeScript
// sources directly (through tsx) so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
