// Child processes for local test services. Each runs in its own process group so
// stopping it also stops whatever it forked; every pid is recorded in a run
// directory so a run that was killed outright is cleaned up by the next one.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const cacheDir = process.env.SELFLESS_CACHE ?? join(homedir(), '.cache', 'selfless');
export const binDir = join(cacheDir, 'bin');
const pidDir = join(cacheDir, 'run', 'pids');

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const running = new Set<ServiceProcess>();
const workDirs = new Set<string>();
let holdEventLoop = true;

/**
 * A test file run on its own has no one to stop its services: they must not keep
 * its event loop alive, and the exit handler below kills them and removes their
 * directories.
 */
export function releaseServicesOnExit(): void {
  holdEventLoop = false;
}

/** A directory removed at exit if its service was never stopped. */
export function trackWorkDir(dir: string): void {
  workDirs.add(dir);
}

export function untrackWorkDir(dir: string): void {
  workDirs.delete(dir);
}

/** Binds port 0 on loopback and returns the port the kernel chose. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills the process groups that an earlier, killed run left behind. */
export function reapStaleServices(): void {
  let entries: string[];
  try {
    entries = readdirSync(pidDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const [owner] = entry.split('-');
    const ownerPid = Number(owner);
    if (ownerPid === process.pid || isAlive(ownerPid)) continue;
    const pgid = Number(readFileSync(join(pidDir, entry), 'utf8'));
    if (pgid && processGroupAlive(pgid)) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(join(pidDir, entry), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { logDir: string; env?: NodeJS.ProcessEnv; cwd?: string },
): ServiceProcess {
  mkdirSync(opts.logDir, { recursive: true });
  mkdirSync(pidDir, { recursive: true });
  const logFile = join(opts.logDir, `${name}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  if (!holdEventLoop) {
    child.unref();
    for (const stream of [child.stdout, child.stderr])
      (stream as unknown as { unref?: () => void })?.unref?.();
  }
  const pidFile = join(pidDir, `${process.pid}-${name}-${child.pid}`);
  if (child.pid) writeFileSync(pidFile, String(child.pid));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(null));
  });
  const proc: ServiceProcess = {
    name,
    child,
    logFile,
    exited,
    async stop() {
      running.delete(proc);
      const pgid = child.pid;
      if (pgid && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-pgid, 'SIGTERM');
        } catch {
          // already gone
        }
        const killed = await Promise.race([
          exited.then(() => true),
          delay(10_000).then(() => false),
        ]);
        if (!killed) {
          try {
            process.kill(-pgid, 'SIGKILL');
          } catch {
            // already gone
          }
          await exited;
        }
      }
      rmSync(pidFile, { force: true });
      log.end();
    },
  };
  running.add(proc);
  return proc;
}

// Last resort when the owner exits without stopping its services (an uncaught
// error, process.exit): synchronous SIGKILL of every group still running.
process.on('exit', () => {
  for (const proc of running) {
    if (proc.child.pid) {
      try {
        process.kill(-proc.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
});

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns true, failing with the service's log tail. */
export async function waitUntil(
  proc: ServiceProcess,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc.exited.then((c) => (exitCode = c));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`${proc.name} exited (${exitCode}) before ${what}:\n${tail(proc.logFile)}`);
    }
    if (await check().catch(() => false)) return;
    await delay(250);
  }
  throw new Error(`${proc.name}: no ${what} after ${timeoutMs} ms:\n${tail(proc.logFile)}`);
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
