// The agent's side of the HTTP worker channel for several gateway replicas:
// `makeMultiGatewayChannel` polls every replica at once and keeps the first
// invocation, cancelling (and giving back) the rest. Each replica is spoken to by
// one GatewayClient (client.ts).
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Invocation, WorkerChannel, WorkerIdentity } from './channel.ts';
import {
  abortError,
  makeGatewayClient,
  type GatewayClient,
  type HttpWorkerChannelOptions,
} from './client.ts';

export interface MultiGatewayOptions extends HttpWorkerChannelOptions {
  /** How often a host name is resolved again, in ms (default 5000). */
  refreshMs?: number;
  /** Host name -> addresses; default node:dns `lookup(host, { all: true })`. */
  resolve?: (hostname: string) => Promise<string[]>;
  /**
   * How long a replica that left DNS is still polled at most, in ms (default 60000).
   * It is dropped sooner, at its first refused or failed poll.
   */
  lingerMs?: number;
  now?: () => number;
  /** Channel trouble that does not fail a call: DNS errors, invocations given back. */
  log?: (line: string) => void;
}

interface Replica {
  client: GatewayClient;
  /** Settles when this worker's last poll of the replica (and its give-back) is over. */
  idle: Promise<void>;
  /** When the replica left DNS; it is polled until it refuses (see `lingerMs`). */
  leftAt?: number;
}

/**
 * The agent's side for several gateway replicas: `next` long-polls every replica at
 * once and keeps the first invocation; the other polls are cancelled explicitly,
 * and an invocation a replica handed out in the meantime is given back to it (it
 * goes back to the head of that replica's queue). `complete` goes to the replica
 * that delivered the request, `initFailed` and `leave` to all.
 *
 * `gateways` is a fixed list of URLs, or one URL whose host name is resolved to all
 * its addresses every `refreshMs` (a headless Service: one address per ready pod).
 * An IP address or `localhost` is used as is.
 *
 * A replica that leaves DNS is still polled until a poll of it fails: a draining
 * gateway is unready, so out of DNS, while it still takes calls that arrived on
 * connections opened before (seen on the real cluster: 1-4 of ~160 sequential calls
 * failed during helm upgrade when agents stopped polling it at once).
 */
export function makeMultiGatewayChannel(
  gateways: string | string[],
  opts: MultiGatewayOptions = {},
): WorkerChannel {
  const log = opts.log ?? (() => undefined);
  const now = opts.now ?? Date.now;
  const lingerMs = opts.lingerMs ?? 60_000;
  const replicas = new Map<string, Replica>();
  /** Which replica delivered each request in flight. */
  const owner = new Map<string, GatewayClient>();
  const watchers = new Set<() => void>();
  let urls: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let first: Promise<void> | undefined;
  let dnsFailing = false;

  const service = typeof gateways === 'string' ? new URL(gateways) : undefined;
  const fanOut =
    service !== undefined &&
    isIP(service.hostname.replace(/^\[|\]$/g, '')) === 0 &&
    service.hostname !== 'localhost';
  if (!fanOut) setUrls(typeof gateways === 'string' ? [gateways] : gateways);

  function setUrls(next: string[]): void {
    let changed = next.length !== urls.length || next.some((u, i) => u !== urls[i]);
    urls = next;
    for (const url of next) {
      const known = replicas.get(url);
      if (known) {
        delete known.leftAt;
        continue;
      }
      const serviceHost = fanOut ? { hostname: service!.hostname, host: service!.host } : undefined;
      replicas.set(url, {
        client: makeGatewayClient(url, serviceHost ? { ...opts, serviceHost } : opts),
        idle: Promise.resolve(),
      });
    }
    for (const [url, r] of replicas) {
      if (next.includes(url)) continue;
      r.leftAt ??= now();
      if (now() - r.leftAt >= lingerMs) {
        log(`[selfless agent] ${url} left DNS ${lingerMs} ms ago: no longer polled`);
        forget(url, r);
        changed = true;
      }
    }
    if (changed) for (const w of watchers) w();
  }

  /** Stops polling a replica that left DNS; its client goes once nothing uses it. */
  function forget(url: string, r: Replica): void {
    replicas.delete(url);
    void r.idle.then(() => releaseIfUnused(r.client));
  }

  /** Closes a forgotten replica's client once no request it delivered is open. */
  function releaseIfUnused(client: GatewayClient): void {
    const polled = [...replicas.values()].some((r) => r.client === client);
    if (!polled && ![...owner.values()].includes(client)) client.destroy();
  }

  function drop(url: string, r: Replica, err: unknown): void {
    if (replicas.get(url) !== r) return;
    log(`[selfless agent] ${url} left DNS and now fails (${message(err)}): no longer polled`);
    forget(url, r);
    for (const w of watchers) w();
  }

  async function refresh(): Promise<void> {
    const s = service!;
    try {
      const found = await (opts.resolve ?? lookupAll)(s.hostname);
      const port = s.port || (s.protocol === 'https:' ? '443' : '80');
      setUrls(
        [...new Set(found)]
          .sort()
          .map((a) => `${s.protocol}//${a.includes(':') ? `[${a}]` : a}:${port}`),
      );
      dnsFailing = false;
    } catch (err) {
      // Keep the last answer: a Service with no ready pod is NXDOMAIN for a moment.
      if (!dnsFailing) log(`[selfless agent] cannot resolve ${s.hostname}: ${message(err)}`);
      dnsFailing = true;
    }
  }

  function resolved(): Promise<void> {
    if (!fanOut) return Promise.resolve();
    if (!first) {
      first = refresh();
      timer = setInterval(() => void refresh(), opts.refreshMs ?? 5000);
      timer.unref();
    }
    return first;
  }

  function round(worker: WorkerIdentity, signal: AbortSignal): Promise<Invocation> {
    const pollId = randomUUID();
    interface Poll {
      client: GatewayClient;
      stop: AbortController;
      sent: boolean;
      withdrawn: boolean;
      ended: boolean;
    }
    return new Promise((resolve, reject) => {
      const polls = new Map<string, Poll>();
      let closed = false;
      let failure: unknown;

      const withdraw = (p: Poll) => {
        p.withdrawn = true;
        // Never sent: it sees `withdrawn` and does not start. Otherwise ask the
        // replica to end it; dropping the connection is the fallback for a replica
        // that cannot be reached (it answers a late hand-out as lost).
        if (p.sent && !p.ended) p.client.cancel(worker, pollId).catch(() => p.stop.abort());
      };
      const close = () => {
        closed = true;
        watchers.delete(onChange);
        signal.removeEventListener('abort', onAbort);
        for (const p of polls.values()) if (!p.withdrawn) withdraw(p);
      };
      const onAbort = () => {
        close();
        reject(abortError(signal));
      };
      const start = (url: string) => {
        if (polls.has(url)) return;
        const replica = replicas.get(url)!;
        const p: Poll = {
          client: replica.client,
          stop: new AbortController(),
          sent: false,
          withdrawn: false,
          ended: false,
        };
        polls.set(url, p);
        const run = async () => {
          // One poll per worker and replica: wait for the previous round's to end.
          await replica.idle;
          if (closed || p.withdrawn) return;
          p.sent = true;
          let inv: Invocation | undefined;
          try {
            inv = await p.client.poll(
              worker,
              p.stop.signal,
              pollId,
              () => replica.leftAt === undefined,
            );
          } catch (err) {
            if (p.stop.signal.aborted) return;
            if (replica.leftAt !== undefined) drop(url, replica, err);
            else failure = err;
            return;
          }
          if (!inv) return;
          if (!closed) {
            p.ended = true;
            owner.set(inv.requestId, p.client);
            close();
            resolve(inv);
            return;
          }
          log(`[selfless agent] giving ${inv.requestId} back to ${url}`);
          await p.client
            .giveBack(worker, inv.requestId)
            .catch((err: unknown) =>
              log(`[selfless agent] could not give ${inv.requestId} back: ${message(err)}`),
            );
        };
        replica.idle = run().finally(() => {
          p.ended = true;
          // Every replica refused the worker (4xx): the agent backs off and asks again.
          const open = [...polls.values()].some((q) => !q.ended);
          if (!closed && !open && failure !== undefined) {
            close();
            reject(failure);
          }
        });
      };
      const onChange = () => {
        for (const url of replicas.keys()) start(url);
        for (const [url, p] of polls) {
          if (replicas.has(url) || p.withdrawn) continue;
          // Forgotten: it failed or stayed away too long, so a cancel would not arrive.
          p.withdrawn = true;
          p.stop.abort();
        }
      };
      if (signal.aborted) {
        reject(abortError(signal));
        return;
      }
      watchers.add(onChange);
      signal.addEventListener('abort', onAbort, { once: true });
      onChange();
    });
  }

  /** Every replica polled; fails only when all of them failed. */
  async function toAll(call: (c: GatewayClient) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled([...replicas.values()].map((r) => call(r.client)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0 && failed.length === results.length) throw failed[0]!.reason;
  }

  return {
    async next(worker, signal) {
      await resolved();
      return round(worker, signal);
    },
    async complete(worker, result) {
      const client = owner.get(result.requestId);
      owner.delete(result.requestId);
      if (!client) throw new Error(`no gateway replica delivered ${result.requestId}`);
      try {
        await client.complete(worker, result);
      } finally {
        releaseIfUnused(client);
      }
    },
    async stream(worker, head, body) {
      const client = owner.get(head.requestId);
      if (!client) throw new Error(`no gateway replica delivered ${head.requestId}`);
      await client.stream(worker, head, body);
    },
    initFailed: (worker, error) => toAll((c) => c.initFailed(worker, error)),
    async leave(worker) {
      clearInterval(timer);
      // Give-backs first: after leave a replica fails what the worker still holds.
      await Promise.all([...replicas.values()].map((r) => r.idle));
      try {
        await toAll((c) => c.leave(worker));
      } finally {
        for (const r of replicas.values()) r.client.destroy();
      }
    },
  };
}

async function lookupAll(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true })).map((a) => a.address);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
