// A real node:http server on 127.0.0.1 serving a WorkerChannel through the gateway's
// routes, for the tests of both sides of the HTTP worker channel.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerChannel } from '../../lib/worker-channel/channel.ts';
import { makeWorkerChannelRoutes } from '../../lib/worker-channel/server.ts';

export async function serve(
  channel: WorkerChannel,
  token?: string,
): Promise<{ url: string; server: Server }> {
  const routes = makeWorkerChannelRoutes(channel, token === undefined ? {} : { token });
  const server = createServer((req, res) => {
    if (!routes(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
