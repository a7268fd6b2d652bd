// A streamed function response written as HTTP, for RESPONSE_STREAM Function URLs
// and HTTP routes alike. A handler that used `awslambda.HttpResponseStream.from`
// sends a JSON prelude (statusCode, headers, cookies) and eight NUL bytes before its
// body; any other stream is a 200 with the stream's content type. Nothing goes out
// before the first byte, so a handler that fails before writing can still be
// answered with an error status.
import type { Response } from 'express';
import { write } from './response-stream.ts';

/** What HttpResponseStream.from sets as the stream's content type. */
export const HTTP_INTEGRATION_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8);

export interface HttpHead {
  status: number;
  headers: Record<string, string>;
  cookies: string[];
}

/** Reads the prelude of an HttpResponseStream: undefined until the delimiter arrived. */
export function parsePrelude(bytes: Buffer): { head: HttpHead; rest: Buffer } | 'bad' | undefined {
  const at = bytes.indexOf(DELIMITER);
  if (at < 0) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.subarray(0, at).toString('utf8'));
  } catch {
    return 'bad';
  }
  if (typeof doc !== 'object' || doc === null) return 'bad';
  const p = doc as { statusCode?: unknown; headers?: unknown; cookies?: unknown };
  const status = p.statusCode === undefined ? 200 : Number(p.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return 'bad';
  const headers: Record<string, string> = {};
  if (typeof p.headers === 'object' && p.headers !== null) {
    for (const [k, v] of Object.entries(p.headers)) headers[k.toLowerCase()] = String(v);
  }
  const cookies = Array.isArray(p.cookies) ? p.cookies.map(String) : [];
  return { head: { status, headers, cookies }, rest: bytes.subarray(at + DELIMITER.length) };
}

export class HttpStreamWriter {
  /** The status line and headers went out. */
  started = false;
  /** The head of a prelude-less stream, sent with its first byte or at its end. */
  plainHead: HttpHead | undefined;

  constructor(
    private readonly res: Response,
    /** Sets the status and headers on `res` (the caller adds its own, CORS for one). */
    private readonly send: (head: HttpHead) => void,
    private readonly counted: (bytes: number) => void,
  ) {}

  /** The StreamConsumer for the invoker: reads `chunks` to their end. */
  async consume(contentType: string, chunks: AsyncIterable<Buffer>): Promise<void> {
    let pending: Buffer | undefined =
      contentType === HTTP_INTEGRATION_TYPE ? Buffer.alloc(0) : undefined;
    if (pending === undefined) {
      this.plainHead = { status: 200, headers: { 'content-type': contentType }, cookies: [] };
    }
    let open = true;
    for await (const chunk of chunks) {
      this.counted(chunk.length);
      if (!this.started && this.plainHead && chunk.length > 0) this.begin(this.plainHead);
      let piece = chunk;
      if (pending !== undefined) {
        const prelude = parsePrelude(Buffer.concat([pending, chunk]));
        if (prelude === undefined) {
          pending = Buffer.concat([pending, chunk]);
          continue;
        }
        pending = undefined;
        if (prelude === 'bad') {
          open = false;
          continue;
        }
        prelude.head.headers['content-type'] ??= 'application/octet-stream';
        this.begin(prelude.head);
        piece = prelude.rest;
      }
      // A caller that went away does not stop the function: the rest is read and dropped.
      if (open && piece.length > 0) open = await write(this.res, piece);
    }
  }

  private begin(head: HttpHead): void {
    this.started = true;
    this.send(head);
    this.res.flushHeaders();
  }
}
