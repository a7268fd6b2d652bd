// The operator scales on demand it polls every few seconds; a function with no
// workers cannot wait that long for its first call. Each gateway replica keeps a
// version that moves whenever an invocation has to wait for a worker, and answers
// GET /_selfless/demand/wake?seen=V&wait=MS as soon as its version is not V (at once
// when it already differs, e.g. after a restart), or after MS. The operator holds one
// such request per replica and polls the demand report the moment one answers with
// a new version, instead of at the next tick.
import type { IncomingMessage, ServerResponse } from 'node:http';

export const DEMAND_WAKE_PATH = '/_selfless/demand/wake';
/** The longest a wake request is held; proxies commonly cut idle requests at 30-60 s. */
export const MAX_WAKE_WAIT_MS = 25_000;

export interface WakeAnswer {
  version: number;
}

export class DemandSignal {
  private version = 0;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  get current(): number {
    return this.version;
  }

  /** Something waits for a worker: wake whoever watches. */
  bump(): void {
    this.version++;
    this.release();
  }

  /**
   * The version, once it differs from `seen`, or after `waitMs`, or when `abort`
   * fires or the signal closes, whichever comes first.
   */
  next(seen: number, waitMs: number, abort?: AbortSignal): Promise<number> {
    if (this.version !== seen || this.closed || waitMs <= 0 || abort?.aborted) {
      return Promise.resolve(this.version);
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        abort?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve(this.version);
      };
      const timer = setTimeout(done, waitMs);
      abort?.addEventListener('abort', done);
      this.waiters.add(done);
    });
  }

  /** Answers every held request now (shutdown: a drain must not wait for them). */
  close(): void {
    this.closed = true;
    this.release();
  }

  private release(): void {
    for (const done of [...this.waiters]) done();
  }
}

/** A node:http (and express) handler for DEMAND_WAKE_PATH. */
export function makeWakeHandler(
  signal: DemandSignal,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const query = new URL(req.url ?? '/', 'http://gateway').searchParams;
    const seen = Number(query.get('seen'));
    const waitMs = Math.min(Math.max(Number(query.get('wait')) || 0, 0), MAX_WAKE_WAIT_MS);
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    void signal.next(Number.isFinite(seen) ? seen : -1, waitMs, gone.signal).then((version) => {
      if (res.destroyed) return;
      const body: WakeAnswer = { version };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  };
}
