// One runtime process: how it is started for each runtime kind, with the environment
// lib/lambda-environment.ts computes; its output split into lines, its exit, and
// killing its whole process tree (it runs in its own process group, so user code
// that forks dies too).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { FunctionDefinition } from '../function.ts';
import { lambdaEnvironment, type RuntimeLocation } from '../lambda-environment.ts';
import { JAVA_RUNTIME_CLIENT, runtimeFamily, type RuntimeFamily } from '../runtimes.ts';
import { javaRuntimeDir } from './interpreters.ts';

export const RUNTIMES_DIR = resolve(import.meta.dirname, 'runtimes');

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
  /**
   * The runtime writes its log records framed on fd 3 (`_LAMBDA_TELEMETRY_LOG_FD`),
   * as Lambda's platform takes them from its runtimes: one record per frame, so a
   * record need not end in a newline and may span lines.
   */
  telemetryLog?: boolean;
}

export interface LaunchOptions {
  fn: FunctionDefinition;
  codeDir: string;
  /** The layers' directory (Lambda's /opt). */
  optDir?: string;
  tmpDir: string;
  runtimeApi: string;
  platformEnv: Record<string, string>;
  /** The node, python3.x or java executable (interpreters.ts); none for provided. */
  interpreter?: string;
  region: string;
  logStreamName: string;
}

/** Where Lambda's Node.js runtimes look for a layer's modules: the version's own directory first. */
function layerNodePath(runtime: string, opt: string): string[] {
  const major = /^nodejs(\d+)/.exec(runtime)?.[1];
  return [
    ...(major ? [join(opt, 'nodejs', `node${major}`, 'node_modules')] : []),
    join(opt, 'nodejs', 'node_modules'),
  ];
}

/** Lambda's Python runtimes put a layer's python/lib/python3.X/site-packages and python/ on sys.path. */
function layerPythonPath(runtime: string, opt: string): string {
  return [join(opt, 'python', 'lib', runtime, 'site-packages'), join(opt, 'python')].join(':');
}

/** Heap share of memorySize given to V8 or the JVM; the rest is code, stacks and buffers. */
const HEAP_SHARE = 0.85;

/** The descriptor a runtime with `telemetryLog` writes its framed records to. */
const TELEMETRY_FD = 3;

/** What runs a managed runtime when the agent was given no interpreter. */
const DEFAULT_INTERPRETER = { nodejs: process.execPath, python: 'python3', java: 'java' };

export function launchSpec(o: LaunchOptions): LaunchSpec {
  const { fn } = o;
  const runtime = fn.spec.runtime;
  const memory = fn.spec.memorySize;
  const family = runtimeFamily(runtime);
  const opt = o.optDir ?? '/opt';
  const interpreter =
    family === 'provided' ? undefined : (o.interpreter ?? DEFAULT_INTERPRETER[family]);
  const env = lambdaEnvironment({
    fn,
    region: o.region,
    runtimeApi: o.runtimeApi,
    taskRoot: o.codeDir,
    tmpDir: o.tmpDir,
    ...(o.optDir !== undefined && { optDir: o.optDir }),
    logStreamName: o.logStreamName,
    runtime: runtimeLocation(family, o.codeDir, interpreter),
    platform: o.platformEnv,
  });
  switch (family) {
    case 'nodejs':
      return {
        command: interpreter!,
        args: [
          `--max-old-space-size=${Math.max(16, Math.floor(memory * HEAP_SHARE))}`,
          join(RUNTIMES_DIR, 'nodejs', 'bootstrap.mjs'),
        ],
        env: {
          ...env,
          NODE_PATH: [...layerNodePath(runtime, opt), join(o.codeDir, 'node_modules')].join(':'),
        },
      };
    case 'python':
      return {
        command: interpreter!,
        // The bootstrap caps its own address space (RLIMIT_AS) before importing user code.
        args: [join(RUNTIMES_DIR, 'python', 'bootstrap.py'), `--memory-mb=${memory}`],
        env: {
          ...env,
          PYTHONPATH: layerPythonPath(runtime, opt),
          PYTHONUNBUFFERED: '1',
          PYTHONDONTWRITEBYTECODE: '1',
        },
      };
    case 'java':
      return {
        command: interpreter!,
        // As Lambda's Java runtimes start the JVM: C1 only and the serial collector
        // (a fast start in a small heap), the heap a share of memorySize; the code's
        // classes and lib/*.jar after the runtime's own jars.
        args: [
          '-XX:+TieredCompilation',
          '-XX:TieredStopAtLevel=1',
          '-XX:+UseSerialGC',
          '-Xshare:auto',
          // The runtime client opens the telemetry descriptor through java.io's internals
          // and loads its native half with System.load (a warning from Java 24 on).
          '--add-opens=java.base/java.io=ALL-UNNAMED',
          '--enable-native-access=ALL-UNNAMED',
          `-Xmx${Math.max(16, Math.floor(memory * HEAP_SHARE))}m`,
          '-cp',
          [join(javaRuntimeDir(), '*'), o.codeDir, join(o.codeDir, 'lib', '*')].join(':'),
          JAVA_RUNTIME_CLIENT.main,
          fn.spec.handler,
        ],
        env: { ...env, _LAMBDA_TELEMETRY_LOG_FD: String(TELEMETRY_FD) },
        telemetryLog: true,
      };
    case 'provided':
      return { command: join(o.codeDir, 'bootstrap'), args: [], env };
  }
}

/**
 * Our bootstraps are the managed runtimes, run by an interpreter whose directory
 * comes first on PATH (Lambda's /var/lang/bin); a `provided` function is its own
 * runtime, in its code.
 */
function runtimeLocation(
  family: RuntimeFamily,
  codeDir: string,
  interpreter?: string,
): RuntimeLocation {
  if (family === 'provided' || interpreter === undefined) return { dir: codeDir };
  const dir = family === 'java' ? javaRuntimeDir() : join(RUNTIMES_DIR, family);
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
      stdio: spec.telemetryLog ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
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
    const telemetry = this.child.stdio[TELEMETRY_FD];
    if (spec.telemetryLog && telemetry) readFrames(telemetry as NodeJS.ReadableStream, onLine);
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

/** Frames of the runtimes' telemetry log: type (0xa55a00 + flags), length, time in µs, record; big-endian. */
const FRAME_HEADER = 16;
const FRAME_MAGIC = 0xa55a00;

/** Each framed record as its lines; bytes that are not a frame are read as plain lines. */
function readFrames(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  const record = (text: string) => {
    for (const line of text.replace(/\n$/, '').split('\n')) onLine(line);
  };
  stream.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= FRAME_HEADER) {
      if (buf.readUInt32BE(0) >>> 8 !== FRAME_MAGIC) {
        record(buf.toString('utf8'));
        buf = Buffer.alloc(0);
        return;
      }
      const end = FRAME_HEADER + buf.readUInt32BE(4);
      if (buf.length < end) return;
      record(buf.subarray(FRAME_HEADER, end).toString('utf8'));
      buf = buf.subarray(end);
    }
  });
}

/** Calls `onLine` with each line of `stream` (a trailing CR dropped), the last unterminated one at its end. */
export function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
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
