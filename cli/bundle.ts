// Ahead-of-time bundles of the CLI's commands for the images: one ES module per
// command in dist/, which bin/selfless.js runs instead of compiling the TypeScript
// sources with tsx at every start. A worker's agent runs under its function's CPU
// limit (72 millicores at 128 MB, as Lambda's share): compiling on start took 9-16 s
// of a first call there.
//
//   node --import tsx cli/bundle.ts [--out DIR] [command...]
//
// Packages stay external (resolved from node_modules beside dist/). The sources stay
// in the image: `import.meta.dirname` / `import.meta.filename` are replaced per file
// by where that file is, so paths next to a module (the runtimes' bootstraps, Lua
// scripts) resolve as they do from source.
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { commands } from './main.ts';

const root = resolve(import.meta.dirname, '..');

const importMetaPaths: Plugin = {
  name: 'import-meta-paths',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const contents = source
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path));
      return { contents, loader: 'ts' };
    });
  },
};

/** Bundles `names` (default: every command) into `outDir`; returns the files written. */
export async function bundleCommands(
  outDir: string,
  names: string[] = Object.keys(commands),
): Promise<string[]> {
  const written: string[] = [];
  for (const name of names) {
    const command = commands[name];
    if (!command) throw new Error(`unknown command '${name}'`);
    const module = resolve(root, 'cli', command.entry.module);
    const outfile = join(outDir, `${name}.mjs`);
    await build({
      stdin: {
        contents: `export { ${command.entry.export} as run } from ${JSON.stringify(module)};`,
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile,
      plugins: [importMetaPaths],
      logLevel: 'warning',
    });
    written.push(outfile);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  const { values, positionals } = parseArgs({
    options: { out: { type: 'string', default: join(root, 'dist') } },
    allowPositionals: true,
  });
  const started = Date.now();
  const files = await bundleCommands(
    resolve(values.out!),
    positionals.length ? positionals : undefined,
  );
  for (const f of files) process.stderr.write(`[bundle] ${relative(root, f)}\n`);
  process.stderr.write(`[bundle] ${files.length} commands in ${Date.now() - started} ms\n`);
}
