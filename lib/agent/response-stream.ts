// A response the runtime streams, on its way from the Runtime API to the gateway,
// within Lambda's limits: at most 200 MB, the first 6 MB as fast as they come and
// the rest at 2 MB/s. The runtime's body is always read to its end, whatever the
// other side does: a caller that goes away does not stop the function (as on
// Lambda), and a runtime blocked on a full socket would only time out.
import type {
  ResponseStreamHead,
  WorkerChannel,
  WorkerIdentity,
} from '../worker-channel/channel.ts';

export interface StreamLimits {
  maxBytes: number;
  /** Bytes sent before the bandwidth cap applies. */
  burstBytes: number;
  /** The cap beyond the burst. */
  bytesPerSecond: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const LAMBDA_STREAM_LIMITS: StreamLimits = {
  maxBytes: 200 * 1024 * 1024,
  burstBytes: 6 * 1024 * 1024,
  bytesPerSecond: 2 * 1024 * 1024,
};

/**
 * One chunk at a time from a producer to one consumer, which sets the pace: `push`
 * resolves when the consumer took the chunk, or at once once the consumer stopped
 * reading or the relay was cut.
 */
export class Relay implements AsyncIterable<Buffer> {
  private waiting: { chunk: Buffer; taken: () => void } | undefined;
  private wake: (() => void) | undefined;
  private ended = false;
  private gone = false;

  push(chunk: Buffer): Promise<void> {
    if (this.gone || this.ended) return Promise.resolve();
    return new Promise((taken) => {
      this.waiting = { chunk, taken };
      this.wake?.();
    });
  }

  /** No more chunks: the consumer sees the end after what it has been given. */
  end(): void {
    this.ended = true;
    this.release();
    this.wake?.();
  }

  private release(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.taken();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        if (this.waiting) {
          const { chunk } = this.waiting;
          this.release();
          yield chunk;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      this.gone = true;
      this.release();
    }
  }
}

export interface RelayedStream {
  /** Settles when the channel has taken the stream to its end (complete may follow). */
  delivered: Promise<void>;
  /** Settles when the runtime's body has been read to its end. */
  drained: Promise<void>;
  /** Ends the stream for the caller now (the invocation ended another way). */
  cut(): void;
  /** Bytes the runtime wrote, when that was over the limit. */
  overflow(): number | undefined;
}

/** Streams `body` to the caller through `channel.stream` (which must exist). */
export function relayStream(
  channel: WorkerChannel,
  worker: WorkerIdentity,
  head: ResponseStreamHead,
  body: AsyncIterable<Buffer>,
  limits: StreamLimits,
  warn: (err: unknown) => void,
): RelayedStream {
  const relay = new Relay();
  const now = limits.now ?? (() => performance.now());
  const sleep = limits.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const delivered = channel.stream!(worker, head, relay).catch((err: unknown) => {
    warn(err);
    relay.end();
  });
  let total = 0;
  let over = false;
  let pacedSince: number | undefined;
  const drained = (async () => {
    for await (const chunk of body) {
      const before = total;
      total += chunk.length;
      if (over) continue;
      let piece = chunk;
      if (total > limits.maxBytes) {
        over = true;
        piece = chunk.subarray(0, limits.maxBytes - before);
      }
      // Every byte past the burst is due at `bytesPerSecond` from the moment the burst ran out.
      const paced = Math.max(0, before + piece.length - limits.burstBytes);
      if (paced > 0) {
        pacedSince ??= now();
        const wait = pacedSince + (paced / limits.bytesPerSecond) * 1000 - now();
        if (wait > 0) await sleep(wait);
      }
      if (piece.length > 0) await relay.push(piece);
      if (over) relay.end();
    }
    relay.end();
  })();
  return {
    delivered,
    drained,
    cut: () => relay.end(),
    overflow: () => (over ? total : undefined),
  };
}
