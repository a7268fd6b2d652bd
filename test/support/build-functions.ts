// Builds the compiled test functions under test/support/functions/ into deployment
// zips, as their languages' Lambda docs build them, once per source: the zip is cached
// under ~/.cache/selfless/builds by the hash of its sources (Maven's repository and
// Go's module cache are cached by the tools themselves).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { zipSync } from 'fflate';
import { cacheDir } from '../../lib/agent/interpreters.ts';

const run = promisify(execFile);
const FUNCTIONS = resolve(import.meta.dirname, 'functions');

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

/** A zip of every file under `dir`, by its path there. */
function zipDir(dir: string): Buffer {
  return Buffer.from(
    zipSync(Object.fromEntries(files(dir).map((f) => [f, readFileSync(join(dir, f))]))),
  );
}

/** The cached zip of `name`, built by `build(srcCopy, outDir)` when its sources changed. */
async function cached(
  name: string,
  build: (src: string, out: string) => Promise<void>,
): Promise<Buffer> {
  const src = join(FUNCTIONS, name);
  const hash = createHash('sha256');
  for (const f of files(src)) hash.update(f).update(readFileSync(join(src, f)));
  const dir = join(cacheDir(), 'builds', `${name}-${hash.digest('hex').slice(0, 16)}`);
  const zip = join(dir, 'function.zip');
  if (existsSync(zip)) return readFileSync(zip);
  const work = mkdtempSync(join(cacheDir(), 'builds', `.${name}-`));
  try {
    cpSync(src, join(work, 'src'), { recursive: true });
    mkdirSync(join(work, 'out'));
    await build(join(work, 'src'), join(work, 'out'));
    writeFileSync(join(work, 'function.zip'), zipDir(join(work, 'out')));
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return readFileSync(zip);
}

/**
 * test/support/functions/java: a handler against aws-lambda-java-core, compiled by
 * Maven (nice'd; its repository in the cache), its classes at the zip's root.
 */
export function javaHandlerZip(): Promise<Buffer> {
  mkdirSync(join(cacheDir(), 'builds'), { recursive: true });
  return cached('java', async (src, out) => {
    await run(
      'nice',
      ['-n', '10', 'mvn', '-B', '-q', `-Dmaven.repo.local=${join(cacheDir(), 'maven')}`, 'compile'],
      { cwd: src, maxBuffer: 16 * 1024 * 1024 },
    );
    cpSync(join(src, 'target', 'classes'), out, { recursive: true });
  });
}

/**
 * test/support/functions/go: a provided.al2023 function on aws-lambda-go, a static
 * binary named bootstrap at the zip's root.
 */
export function goBootstrapZip(): Promise<Buffer> {
  mkdirSync(join(cacheDir(), 'builds'), { recursive: true });
  return cached('go', async (src, out) => {
    await run('nice', ['-n', '10', 'go', 'build', '-trimpath', '-o', join(out, 'bootstrap'), '.'], {
      cwd: src,
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
      maxBuffer: 16 * 1024 * 1024,
    });
  });
}

/**
 * test/support/functions/rust: a provided.al2023 function on Rust's lambda_runtime
 * crate, its binary named bootstrap at the zip's root; cargo's target directory is
 * kept in the cache, so a changed source rebuilds only itself.
 */
export function rustBootstrapZip(): Promise<Buffer> {
  mkdirSync(join(cacheDir(), 'builds'), { recursive: true });
  return cached('rust', async (src, out) => {
    const target = join(cacheDir(), 'builds', 'cargo-target');
    await run('nice', ['-n', '10', 'cargo', 'build', '--release', '--locked', '-q'], {
      cwd: src,
      env: { ...process.env, CARGO_TARGET_DIR: target },
      maxBuffer: 16 * 1024 * 1024,
    });
    cpSync(join(target, 'release', 'bootstrap'), join(out, 'bootstrap'));
  });
}

// `node --import tsx test/support/build-functions.ts`: builds (or finds cached) every
// zip, so provisioning pays for the cold Maven, Go and cargo builds (cargo: ~12 min
// on a busy 2-core machine) and no test's before() hook does.
if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  for (const [name, build] of [
    ['java', javaHandlerZip],
    ['go', goBootstrapZip],
    ['rust', rustBootstrapZip],
  ] as const) {
    const t0 = Date.now();
    const zip = await build();
    process.stderr.write(`[builds] ${name}: ${zip.length} bytes in ${Date.now() - t0} ms\n`);
  }
}
