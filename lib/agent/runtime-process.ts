// One runtime process: how it is started for each runtime kind, with the environment
// lib/lambda-environment.ts computes; its output split into lines, its exit, and
// killing its whole process tree (it runs in its own process group, so user code
// that forks dies too).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { FunctionDefinition } from '../function.ts';
import { lambdaEnvironment, type RuntimeLocation } from '../lambda-environment.ts';

export const RUNTIMES_DIR = resolve(import.meta.dirname, 'runtimes');

export interface Interpreters {
  /** Node.js executable for nodejs* runtimes; default: the one running the agent. */
  node?: string;
  /** Python 3 executable for python* runtimes; default: `python3` on PATH. */
  python?: string;
}

let python: Promise<string> | undefined;

/**
 * The real path of `python3`: version managers put a shell-script shim first on PATH,
 * which would add ~50 ms to every Python cold start. Resolved once per process.
 */
export function resolvePython(): Promise<string> {
  python ??= new Promise((resolvePath) => {
    execFile('python3', ['-c', 'import sys; print(sys.executable)'], (err, stdout) => {
      resolvePath(err || !stdout.trim() ? 'python3' : stdout.trim());
    });
  });
  return python;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface LaunchOptions {
  fn: FunctionDefinition;
  codeDir: string;
  tmpDir: string;
  runtimeApi: string;
  platformEnv: Record<string, string>;
  interpreters?: Interpreters;
  region: string;
  logStreamName: string;
}

/** Heap share of memorySize given to V8; the rest is code, stacks and buffers. */
const NODE_HEAP_SHARE = 0.85;

export function launchSpec(o: LaunchOptions): LaunchSpec {
  const { fn } = o;
  const runtime = fn.spec.runtime;
  const memory = fn.spec.memorySize;
  const node = o.interpreters?.node ?? process.execPath;
  const python = o.interpreters?.python ?? 'python3';
  const env = (interpreter?: string) =>
    lambdaEnvironment({
      fn,
      region: o.region,
      runtimeApi: o.runtimeApi,
      taskRoot: o.codeDir,
      tmpDir: o.tmpDir,
      logStreamName: o.logStreamName,
      runtime: runtimeLocation(runtime, o.codeDir, interpreter),
      platform: o.platformEnv,
    });
  switch (runtime) {
    case 'nodejs20.x':
    case 'nodejs22.x':
      return {
        command: node,
        args: [
          `--max-old-space-size=${Math.max(16, Math.floor(memory * NODE_HEAP_SHARE))}`,
          join(RUNTIMES_DIR, 'nodejs', 'bootstrap.mjs'),
        ],
        env: { ...env(node), NODE_PATH: join(o.codeDir, 'node_modules') },
      };
    case 'python3.12':
    case 'python3.13':
      return {
        command: python,
        // The bootstrap caps its own address space (RLIMIT_AS) before importing user code.
        args: [join(RUNTIMES_DIR, 'python', 'bootstrap.py'), `--memory-mb=${memory}`],
        env: { ...env(python), PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
      };
    case 'provided':
      return { command: join(o.codeDir, 'bootstrap'), args: [], env: env() };
  }
}

/**
 * Our bootstraps are the managed runtimes, run by an interpreter whose directory
 * comes first on PATH (Lambda's /var/lang/bin); a `provided` function is its own
 * runtime, in its code.
 */
function runtimeLocation(runtime: string, codeDir: string, interpreter?: string): RuntimeLocation {
  if (interpreter === undefined) return { dir: codeDir };
  const dir = join(RUNTIMES_DIR, runtime.startsWith('python') ? 'python' : 'nodejs');
  // A bare command name (python3 not resolved) has no directory to put first.
  return isAbsolute(interpreter) ? { dir, binDir: dirname(interpreter) } : { dir };
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Lambda's wording: `exit status 1`, `signal: killed`. */
export function describeExit(e: ExitInfo): string {
  if (e.signal) return `signal: ${SIGNAL_WORDS[e.signal] ?? e.signal}`;
  return `exit status ${e.code ?? 0}`;
}

const SIGNAL_WORDS: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGINT: 'interrupt',
};

/** What the agent supervises: a child process, or a runtime in another container. */
export interface RuntimeHandle {
  readonly exited: Promise<ExitInfo>;
  readonly startedAt: number;
  readonly pid: number | undefined;
  readonly alive: boolean;
  kill(): void;
}

/**
 * A runtime in another container of the pod (image functions): the agent neither
 * starts nor sees it, and cannot kill it. `kill` marks it as needing a restart
 * (`onKill`), which Kubernetes performs when the liveness probe reports it.
 */
export class ExternalRuntime implements RuntimeHandle {
  readonly exited: Promise<ExitInfo>;
  readonly startedAt = performance.now();
  readonly pid = undefined;
  private dead = false;
  private markExited!: (e: ExitInfo) => void;

  constructor(private readonly onKill: () => void) {
    this.exited = new Promise((resolveExit) => (this.markExited = resolveExit));
  }

  get alive(): boolean {
    return !this.dead;
  }

  kill(): void {
    if (this.dead) return;
    this.dead = true;
    this.onKill();
    this.markExited({ code: null, signal: 'SIGKILL' });
  }
}

export class RuntimeProcess implements RuntimeHandle {
  readonly exited: Promise<ExitInfo>;
  readonly startedAt = performance.now();
  private readonly child: ChildProcess;
  private dead = false;

  constructor(spec: LaunchSpec, cwd: string, onLine: (line: string) => void) {
    this.child = spawn(spec.command, spec.args, {
      cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise((resolveExit) => {
      this.child.once('error', (err) => {
        this.dead = true;
        onLine(`Error: could not start the runtime ${spec.command}: ${err.message}`);
        resolveExit({ code: 127, signal: null });
      });
      this.child.once('exit', (code, signal) => {
        this.dead = true;
        // Output written just before the exit may still be in the pipes: wait for
        // them to close, but not for a grandchild that keeps them open.
        const done = () => {
          clearTimeout(timer);
          resolveExit({ code, signal });
        };
        const timer = setTimeout(done, 50);
        this.child.once('close', done);
      });
    });
    splitLines(this.child.stdout!, onLine);
    splitLines(this.child.stderr!, onLine);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Kills the runtime and everything it started. */
  kill(): void {
    const pid = this.child.pid;
    if (this.dead || pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const p of parts) onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  });
  stream.on('end', () => {
    if (rest) onLine(rest);
    rest = '';
  });
}
