// One DAX client connection: a stream of CBOR values with no length prefix. It opens
// with a greeting (magic text, 0, session id, {UserAgent}, 0), then carries requests
// of the form 1, method id, and that method's fixed number of arguments, answered in
// order. authorizeConnection is a request without an answer; with access keys
// configured, every request but discovery needs a valid one.
import type { Socket } from 'node:net';
import { DynamoError, internal } from '../errors.ts';
import { verifySigV4 } from '../../lib/sigv4.ts';
import type { Logger } from '../../lib/log.ts';
import { CborReader, NeedMore, type Cbor } from './cbor.ts';
import { encodeError } from './errors.ts';
import type { DaxContext } from './methods/common.ts';
import { batchGetItem, batchWriteItem } from './methods/batch.ts';
import { deleteItem, getItem, putItem, updateItem } from './methods/items.ts';
import {
  defineAttributeList,
  defineAttributeListId,
  defineKeySchema,
  endpoints,
  type NodeAddress,
} from './methods/meta.ts';
import { query, scan } from './methods/search.ts';
import { transactGetItems, transactWriteItems } from './methods/transactions.ts';

const MAGIC = 'J7yne5G';
const GREETING_VALUES = 5;
const AUTHORIZE = 1489122155;

type Method = { args: number; run: (ctx: DaxContext, args: Cbor[]) => Buffer | Promise<Buffer> };

/** Method ids (the client's DaxMethodIds) and their argument counts. */
const methods = new Map<number, Method>([
  [-742646399, { args: 1, run: defineKeySchema }],
  [-1230579644, { args: 1, run: defineAttributeListId }],
  [670678385, { args: 1, run: defineAttributeList }],
  [263244906, { args: 3, run: getItem }],
  [-2106490455, { args: 4, run: putItem }],
  [1013539361, { args: 3, run: deleteItem }],
  [1425579023, { args: 3, run: updateItem }],
  [-931250863, { args: 3, run: query }],
  [-1875390620, { args: 2, run: scan }],
  [-697851100, { args: 2, run: batchGetItem }],
  [116217951, { args: 2, run: batchWriteItem }],
  [1866287579, { args: 4, run: transactGetItems }],
  [-1160037738, { args: 9, run: transactWriteItems }],
]);

const ENDPOINTS = 455855874;

export interface ConnectionOptions {
  ctx: DaxContext;
  /** SigV4 secrets by access key id; absent: no authentication, as on HTTP. */
  auth?: { credentials: Record<string, string> };
  now?: () => number;
  node: NodeAddress;
  log: Logger;
}

export function serveConnection(socket: Socket, opts: ConnectionOptions): void {
  let buffer: Buffer = Buffer.alloc(0);
  const values: Cbor[] = [];
  let greeted = false;
  let busy = false;
  /** Why requests fail until the next authorizeConnection; undefined: authorized. */
  let authFailure: DynamoError | undefined = opts.auth
    ? new DynamoError(
        'MissingAuthenticationTokenException',
        'Request is missing Authentication Token',
      )
    : undefined;

  const fail = (why: string) => {
    opts.log.warn('DAX connection closed', { why });
    socket.destroy();
  };

  const authorize = (args: Cbor[]) => {
    if (!opts.auth) return;
    const [accessKeyId, signature, stringToSign] = args;
    const lines = Buffer.isBuffer(stringToSign) ? stringToSign.toString('utf8').split('\n') : [];
    const [, amzDate = '', scope = ''] = lines;
    // The client signs a fixed request (SigV4Gen.js): POST / with host and x-amz-date.
    const v = verifySigV4(
      {
        method: 'POST',
        url: '/',
        headers: {
          host: 'dax.amazonaws.com',
          'x-amz-date': amzDate,
          authorization: `AWS4-HMAC-SHA256 Credential=${String(accessKeyId)}/${scope}, SignedHeaders=host;x-amz-date, Signature=${String(signature)}`,
        },
        body: Buffer.alloc(0),
      },
      { credentials: opts.auth.credentials, service: 'dax', now: opts.now },
    );
    authFailure = v.ok ? undefined : new DynamoError(v.type, v.message, v.status);
  };

  /** Takes one request off the queue if it is complete; false when more is needed. */
  const next = async (): Promise<boolean> => {
    if (!greeted) {
      if (values.length < GREETING_VALUES) return false;
      if (values[0] !== MAGIC) {
        fail('no DAX greeting');
        return false;
      }
      values.splice(0, GREETING_VALUES);
      greeted = true;
      return true;
    }
    if (values.length < 2) return false;
    const [version, id] = values;
    if (version !== 1 || typeof id !== 'number') {
      fail('malformed request');
      return false;
    }
    const method = methods.get(id);
    const count = id === AUTHORIZE ? 5 : id === ENDPOINTS ? 0 : method?.args;
    if (count === undefined) {
      fail(`unknown method ${id}`);
      return false;
    }
    if (values.length < 2 + count) return false;
    const args = values.splice(0, 2 + count).slice(2);
    if (id === AUTHORIZE) {
      authorize(args);
      return true;
    }
    let reply: Buffer;
    try {
      // Discovery only names this node, which the client reached already: it is
      // answered unauthenticated, so a bad key shows on the data call as its own error.
      if (id === ENDPOINTS) reply = endpoints(opts.node);
      else if (authFailure) throw authFailure;
      else reply = await method!.run(opts.ctx, args);
    } catch (err) {
      if (!(err instanceof DynamoError)) opts.log.error('DAX request failed', { err });
      reply = encodeError(err instanceof DynamoError ? err : internal());
    }
    if (!socket.destroyed) socket.write(reply);
    return true;
  };

  const pump = async () => {
    if (busy) return;
    busy = true;
    try {
      while (!socket.destroyed && (await next()));
    } finally {
      busy = false;
    }
  };

  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    const r = new CborReader(buffer);
    let used = 0;
    try {
      while (!r.done) {
        values.push(r.decode());
        used = r.pos;
      }
    } catch (err) {
      if (!(err instanceof NeedMore)) return fail(`bad CBOR: ${String(err)}`);
    }
    buffer = buffer.subarray(used);
    void pump();
  });
  socket.on('error', () => socket.destroy());
}
