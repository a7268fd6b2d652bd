// The HTTP layer of the table service: DynamoDB JSON 1.0. It only reads the body,
// checks the signature when keys are configured, routes on X-Amz-Target and turns
// results and errors into DynamoDB's wire shape with an X-Amz-Crc32 header. Bad
// input never reaches the 500 path: that is kept for storage faults.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import type { Registry } from 'prom-client';
import { makeLogger, type Logger } from '../lib/log.ts';
import { verifySigV4 } from '../lib/sigv4.ts';
import { actions } from './actions/index.ts';
import type { ActionContext } from './actions/context.ts';
import { DynamoError, errorPrefix, internal } from './errors.ts';
import { makeTablesMetrics } from './metrics.ts';
import type { StorageEngine } from './storage/engine.ts';

export const targetPrefix = 'DynamoDB_20120810.';
const maxBodyBytes = 20 * 1024 * 1024;

export interface TablesHandlerOptions {
  engine: StorageEngine;
  registry?: Registry;
  /** SigV4 verification: secret of each access key id. Absent: no authentication. */
  auth?: { credentials: Record<string, string> };
  region?: string;
  accountId?: string;
  log?: Logger;
}

export type TablesHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Whether a request is a DynamoDB API call (for mounting on a shared port). */
export function isTablesRequest(req: IncomingMessage): boolean {
  const target = req.headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith(targetPrefix);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  // A string body (not a Buffer) lets node:http put headers and body into one
  // write instead of a writev of two: measurably cheaper per request.
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': Buffer.byteLength(payload),
    'X-Amz-Crc32': String(crc32(payload)),
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(payload);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBodyBytes) chunks.push(c);
    });
    req.on('end', () => resolve(size > maxBodyBytes ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function makeTablesHandler(opts: TablesHandlerOptions): TablesHandler {
  const log = opts.log ?? makeLogger('tables');
  const metrics = opts.registry ? makeTablesMetrics(opts.registry) : undefined;
  const ctx: ActionContext = {
    engine: opts.engine,
    region: opts.region ?? 'us-east-1',
    accountId: opts.accountId ?? '000000000000',
    observer: metrics,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const t0 = process.hrtime.bigint();
    const target = String(req.headers['x-amz-target'] ?? '');
    const name = target.startsWith(targetPrefix) ? target.slice(targetPrefix.length) : '';
    const action = Object.hasOwn(actions, name) ? actions[name] : undefined;
    const label = action ? name : 'unknown';
    const finish = (status: number, body: unknown, outcome: string) => {
      send(res, status, body);
      metrics?.request(label, outcome, Number(process.hrtime.bigint() - t0) / 1e9);
    };
    const failWith = (err: DynamoError) => finish(err.status, err.body(), err.type);

    if (req.method === 'GET' && !target) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`healthy: dynamodb.${ctx.region}.amazonaws.com`);
      return;
    }
    const body = await readBody(req);
    if (!body) {
      return failWith(new DynamoError('RequestEntityTooLarge', 'Request entity too large', 413));
    }
    if (opts.auth) {
      const v = verifySigV4(
        { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
        { credentials: opts.auth.credentials, service: 'dynamodb' },
      );
      if (!v.ok) return failWith(new DynamoError(v.type, v.message, v.status));
    }
    if (!action) {
      return failWith(
        new DynamoError('UnknownOperationException', `Unknown operation: ${target || '(none)'}`),
      );
    }
    let request: unknown;
    try {
      request = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      return failWith(
        new DynamoError('SerializationException', 'The request body is not valid JSON'),
      );
    }
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      return failWith(
        new DynamoError('SerializationException', 'Start of list found where not expected'),
      );
    }
    try {
      const out = await action(ctx, request as Record<string, unknown>);
      finish(200, out, 'ok');
    } catch (err) {
      if (err instanceof DynamoError) return failWith(err);
      metrics?.storageError(label);
      log.error('storage error', { action: label, err });
      failWith(internal());
    }
  };

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('request failed', { err });
      if (!res.headersSent) {
        send(res, 500, {
          __type: errorPrefix + 'InternalServerError',
          message: 'Internal server error',
        });
      } else res.destroy();
    });
  };
}
