// Graceful shutdown behind a Service. On SIGTERM the pod stays in the Service's
// endpoints until the endpoint controller, kube-proxy and every client with a
// keep-alive connection have noticed, so closing the port at once refuses and resets
// calls (seen on the real cluster: 4 of 204 sequential calls failed while helm
// upgrade rolled the gateway). Draining instead: readiness answers 503, every client
// response carries `Connection: close` so keep-alive clients reconnect (to another
// replica once the endpoints update), and requests that are not clients' are untouched
// (the gateway's worker channel: a call in flight returns its result over it). After
// `delayMs`, once no client request is open (at most `maxMs` in all), the server
// closes. The gateway and the table service both drain so.
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';

export const READINESS_PATH = '/readyz';

export interface DrainOptions {
  /** How long to keep serving after the signal while the endpoints update. */
  delayMs: number;
  /** Upper bound on the whole drain: requests still open then are cut. */
  maxMs: number;
  /** Requests that count as clients' (not the agents' long polls). */
  isClient(req: IncomingMessage): boolean;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface Drain {
  /** Wraps the app: counts client requests, serves readiness, closes while draining. */
  handler(app: RequestListener): RequestListener;
  /** Drains, then closes `server` and every connection it still holds. */
  drain(server: Server): Promise<void>;
  readonly draining: boolean;
  readonly openClientRequests: number;
}

export function makeDrain(opts: DrainOptions): Drain {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  let draining = false;
  let open = 0;
  let idle: (() => void) | undefined;

  return {
    get draining() {
      return draining;
    },
    get openClientRequests() {
      return open;
    },
    handler(app) {
      return (req: IncomingMessage, res: ServerResponse) => {
        if (req.url === READINESS_PATH) {
          res.statusCode = draining ? 503 : 200;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ ready: !draining }));
          return;
        }
        if (opts.isClient(req)) {
          open++;
          if (draining) res.setHeader('connection', 'close');
          res.once('close', () => {
            open--;
            if (open === 0) idle?.();
          });
        }
        app(req, res);
      };
    },
    async drain(server) {
      draining = true;
      const deadline = now() + opts.maxMs;
      await sleep(Math.min(opts.delayMs, opts.maxMs));
      if (open > 0) {
        const left = Math.max(0, deadline - now());
        await Promise.race([new Promise<void>((r) => (idle = r)), sleep(left)]);
      }
      await closeServer(server);
    },
  };
}

/** Stops accepting, cuts every connection it still holds, resolves once closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}
