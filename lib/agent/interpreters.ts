// Which interpreter runs a managed runtime: the exact version lib/runtimes.ts pins,
// found where runtime-images/fetch-runtimes.sh puts it (the cache), where a runtime
// image has it, or where this machine keeps one (pyenv, /usr/lib/jvm); else the
// nearest this machine has, with a line in the function's log that says so.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { JAVA_RUNTIME_CLIENT, runtimeInfo, type Runtime, type RuntimeFamily } from '../runtimes.ts';

export interface Interpreter {
  /** The executable: node, python3.x or java. */
  command: string;
  /** Its version, e.g. 22.21.0, 3.12.1, 21.0.8. */
  version: string;
  /** Set when `version` is not the runtime's pinned one: the log line that says so. */
  note?: string;
}

/** Where the project's scripts cache what they fetch (test/services/provision.sh too). */
export function cacheDir(): string {
  return process.env.SELFLESS_CACHE ?? join(homedir(), '.cache', 'selfless');
}

/** Where runtime-images/fetch-runtimes.sh puts a pinned runtime's files. */
export function fetchedRuntimeDir(runtime: Runtime): string {
  const info = runtimeInfo(runtime);
  return join(cacheDir(), 'runtimes', `${info.family}-${info.version ?? 'none'}`);
}

/**
 * The jars of the Java runtime interface client and its dependencies: where
 * fetch-runtimes.sh puts them.
 */
export function javaRuntimeDir(): string {
  return join(cacheDir(), 'runtimes', `java-ric-${JAVA_RUNTIME_CLIENT.version}`);
}

const LANGUAGE: Record<RuntimeFamily, string> = {
  nodejs: 'Node.js',
  python: 'Python',
  java: 'Java',
  provided: 'OS',
};

const resolved = new Map<string, Promise<Interpreter>>();

/** The interpreter of a nodejs*, python* or java* runtime; looked up once per process and cache. */
export function interpreterFor(runtime: Runtime): Promise<Interpreter> {
  const key = `${cacheDir()}\0${runtime}`;
  let found = resolved.get(key);
  if (!found) {
    found = lookUp(runtime);
    resolved.set(key, found);
  }
  return found;
}

async function lookUp(runtime: Runtime): Promise<Interpreter> {
  const info = runtimeInfo(runtime);
  const want = info.version!;
  const found = await (info.family === 'nodejs'
    ? nodeFor(runtime, want)
    : info.family === 'python'
      ? pythonFor(want)
      : javaFor(runtime, want));
  if (found.version === want) return found;
  const how = info.fetch ? ' (bash runtime-images/fetch-runtimes.sh fetches it)' : '';
  const note = `Selfless: runtime ${runtime} runs on this machine's ${LANGUAGE[info.family]} ${found.version}, not ${want}${how}`;
  return { ...found, note };
}

/** The fetched Node.js binary, else the one running this agent (in an image: its own). */
async function nodeFor(runtime: Runtime, want: string): Promise<Interpreter> {
  const fetched = join(fetchedRuntimeDir(runtime), 'bin', 'node');
  if (existsSync(fetched)) return { command: fetched, version: want };
  return { command: process.execPath, version: process.versions.node };
}

/**
 * pyenv's exact build, else the image's /usr/local/bin/python3.x or Debian's
 * /usr/bin/python3.x, else pyenv's newest of the same minor, else `python3`.
 */
async function pythonFor(want: string): Promise<Interpreter> {
  const minor = want.split('.').slice(0, 2).join('.');
  const pyenv = join(process.env.PYENV_ROOT ?? join(homedir(), '.pyenv'), 'versions');
  const exact = join(pyenv, want, 'bin', `python${minor}`);
  if (existsSync(exact)) return { command: exact, version: want };
  const sameMinor = [
    `/usr/local/bin/python${minor}`,
    `/usr/bin/python${minor}`,
    ...newestFirst(pyenv, minor).map((v) => join(pyenv, v, 'bin', `python${minor}`)),
  ].filter((p) => existsSync(p));
  for (const command of [...sameMinor, 'python3']) {
    const found = await askPython(command);
    if (found) return found;
  }
  return { command: 'python3', version: 'unknown' };
}

/** The real executable and version of a Python (version managers' shims resolved). */
function askPython(command: string): Promise<Interpreter | undefined> {
  return new Promise((answer) => {
    execFile(
      command,
      ['-c', 'import sys; print(sys.executable); print(sys.version.split()[0])'],
      (err, stdout) => {
        const [executable, version] = stdout.trim().split('\n');
        answer(err || !executable || !version ? undefined : { command: executable, version });
      },
    );
  });
}

/**
 * The fetched JDK, else one of the same feature release under /usr/lib/jvm, else the
 * oldest newer one there (a JDK runs the class files of every older release).
 */
async function javaFor(runtime: Runtime, want: string): Promise<Interpreter> {
  const fetched = fetchedRuntimeDir(runtime);
  if (existsSync(join(fetched, 'bin', 'java')))
    return { command: join(fetched, 'bin', 'java'), version: want };
  const feature = Number(want.split('.')[0]);
  const jdks = listJdks('/usr/lib/jvm')
    .filter((j) => j.feature >= feature)
    .sort((a, b) => a.feature - b.feature);
  const jdk = jdks.find((j) => j.feature === feature) ?? jdks[0];
  if (jdk) return { command: join(jdk.home, 'bin', 'java'), version: jdk.version };
  return { command: 'java', version: 'unknown' };
}

function listJdks(root: string): { home: string; version: string; feature: number }[] {
  const found = [];
  for (const name of safeReaddir(root)) {
    const home = join(root, name);
    const version = releaseVersion(home);
    if (version && existsSync(join(home, 'bin', 'java')))
      found.push({ home, version, feature: Number(version.split('.')[0]) });
  }
  return found;
}

/** JAVA_VERSION from a JDK's `release` file. */
export function releaseVersion(home: string): string | undefined {
  try {
    return /^JAVA_VERSION="([^"]+)"/m.exec(readFileSync(join(home, 'release'), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** pyenv's CPython versions of one minor (x.y.z only), newest first. */
function newestFirst(pyenv: string, minor: string): string[] {
  const patch = (v: string) => Number(v.split('.')[2]);
  return safeReaddir(pyenv)
    .filter((v) => new RegExp(`^${minor.replace('.', '\\.')}\\.\\d+$`).test(v))
    .sort((a, b) => patch(b) - patch(a));
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
