// SnapStart for Python: the snapshot of an initialised environment is a Python
// runtime process that imported the handler and ran its before-snapshot hooks
// (bootstrap.py --snapshot=<socket>), and restoring it forks that process. One
// snapshot per code directory and version, shared by every agent of this process that
// runs it (the process driver's environments of one version), kept until the process
// closes them or the snapshot dies; a snapshot that failed its init is dropped, so the
// next restore initialises a new one. A restored runtime is supervised like a started
// one: its output comes over its connection to the snapshot, it is killed by its
// process group, and the snapshot reports its exit status when it reaps it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeError } from './runtime-api.ts';
import {
  splitLines,
  type ExitInfo,
  type LaunchSpec,
  type RuntimeHandle,
} from './runtime-process.ts';

type SnapshotState = { ok: true } | { ok: false; error: RuntimeError };

interface Snapshot {
  readonly socketPath: string;
  readonly ready: Promise<SnapshotState>;
  readonly child: ChildProcess;
}

const snapshots = new Map<string, Snapshot>();

/** The control records of a snapshot's connections start with a NUL byte. */
const CONTROL = '\0';

/**
 * The snapshot `key` names, initialising it (`spec` run with --snapshot) when there
 * is none; its init output goes to `onLine`.
 */
export function snapshotOf(
  key: string,
  spec: LaunchSpec,
  cwd: string,
  onLine: (line: string) => void,
): Snapshot {
  const known = snapshots.get(key);
  if (known) return known;
  const socketPath = join(tmpdir(), `selfless-snap-${randomBytes(8).toString('hex')}.sock`);
  const child = spawn(spec.command, [...spec.args, `--snapshot=${socketPath}`], {
    cwd,
    env: spec.env,
    // fd 3 carries `ready` or `error <document>`; its closing tells the snapshot to exit.
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  splitLines(child.stdout!, onLine);
  splitLines(child.stderr!, onLine);
  const ready = new Promise<SnapshotState>((resolve) => {
    splitLines(child.stdio[3] as NodeJS.ReadableStream, (line) => {
      if (line === 'ready') resolve({ ok: true });
      else if (line.startsWith('error ')) resolve({ ok: false, error: initError(line.slice(6)) });
    });
    child.once('error', (err) =>
      resolve({
        ok: false,
        error: { errorType: 'Runtime.ExitError', errorMessage: `Error: ${err.message}` },
      }),
    );
    child.once('exit', (code, signal) =>
      resolve({
        ok: false,
        error: {
          errorType: 'Runtime.ExitError',
          errorMessage: `Error: Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code ?? 0}`}`,
        },
      }),
    );
  });
  const snapshot: Snapshot = { socketPath, ready, child };
  snapshots.set(key, snapshot);
  const drop = () => {
    if (snapshots.get(key) === snapshot) snapshots.delete(key);
    rmSync(socketPath, { force: true });
  };
  child.once('exit', drop);
  void ready.then((s) => {
    if (!s.ok) {
      drop();
      kill(child.pid);
    }
  });
  return snapshot;
}

/** Kills every snapshot of this process (the driver closing). */
export function closeSnapshots(): void {
  for (const s of snapshots.values()) kill(s.child.pid);
  snapshots.clear();
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function initError(json: string): RuntimeError {
  try {
    const doc = JSON.parse(json) as Partial<RuntimeError>;
    return { errorType: String(doc.errorType), errorMessage: String(doc.errorMessage) };
  } catch {
    return { errorType: 'Runtime.Unknown', errorMessage: json };
  }
}

/** An environment restored from a snapshot: a fork of it, with `spec`'s variables and `cwd`. */
export class RestoredRuntime implements RuntimeHandle {
  readonly exited: Promise<ExitInfo>;
  readonly startedAt = performance.now();
  private childPid: number | undefined;
  private dead = false;
  private killed = false;
  private socket: Socket | undefined;

  /** `failed` gets the snapshot's init error when it has no environment to give. */
  constructor(
    snapshot: Snapshot,
    spec: LaunchSpec,
    cwd: string,
    onLine: (line: string) => void,
    failed: (error: RuntimeError) => void,
  ) {
    this.exited = new Promise((resolveExit) => {
      let exit: ExitInfo | undefined;
      const end = () => {
        this.dead = true;
        resolveExit(exit ?? { code: null, signal: this.killed ? 'SIGKILL' : null });
      };
      void snapshot.ready.then((state) => {
        if (!state.ok) {
          failed(state.error);
          exit = { code: 1, signal: null };
          return end();
        }
        if (this.killed) return end();
        const socket = connect(snapshot.socketPath);
        this.socket = socket;
        socket.on('error', () => {});
        socket.once('close', end);
        socket.end(`${JSON.stringify({ env: spec.env, cwd })}\n`);
        splitLines(socket, (line) => {
          const at = line.indexOf(CONTROL);
          if (at < 0) return onLine(line);
          if (at > 0) onLine(line.slice(0, at));
          const [word, value] = line.slice(at + 1).split(' ');
          if (word === 'pid') {
            this.childPid = Number(value);
            if (this.killed) kill(this.childPid);
          } else if (word === 'exit') exit = exitInfo(Number(value));
        });
      });
    });
  }

  get pid(): number | undefined {
    return this.childPid;
  }

  get alive(): boolean {
    return !this.dead;
  }

  kill(): void {
    if (this.dead) return;
    this.killed = true;
    if (this.childPid !== undefined) kill(this.childPid);
    else this.socket?.destroy();
  }
}

/** Python's waitstatus_to_exitcode: the exit code, or minus the signal. */
function exitInfo(code: number): ExitInfo {
  if (code >= 0) return { code, signal: null };
  const name = Object.entries(constants.signals).find(([, n]) => n === -code)?.[0];
  return { code: null, signal: (name ?? 'SIGKILL') as NodeJS.Signals };
}
