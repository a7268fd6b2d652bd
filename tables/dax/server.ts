// The DAX endpoint: a TCP port speaking the protocol of the official DAX clients,
// served by the table service's own actions in process (tables/http.ts invoke), so
// validation, errors, capacity and the read cache are the HTTP API's.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/log.ts';
import type { TablesHandler } from '../http.ts';
import { serveConnection } from './connection.ts';
import { AttributeLists } from './values.ts';

export interface DaxServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startDaxServer(opts: {
  handler: Pick<TablesHandler, 'invoke'>;
  port?: number;
  host?: string;
  auth?: { credentials: Record<string, string> };
  /**
   * The IP address and port discovery names, when clients cannot reach this node
   * at the address they connected to (NAT, port forwarding); default: that address.
   */
  advertise?: { address: string; port: number };
  log: Logger;
  now?: () => number;
}): Promise<DaxServer> {
  const ctx = { invoke: opts.handler.invoke, lists: new AttributeLists() };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const address = socket.localAddress ?? '127.0.0.1';
    serveConnection(socket, {
      ctx,
      auth: opts.auth,
      now: opts.now,
      log: opts.log,
      node: opts.advertise
        ? { host: opts.advertise.address, ...opts.advertise }
        : { host: address, address, port: socket.localPort ?? 0 },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
