// The baseline: a bare node:http server running the same no-op handler in its own
// process, with the same JSON in and out as a Lambda invoke. Prints its port.
import { createServer } from 'node:http';

const handler = async (event) => ({ ok: true, echo: event.n ?? null });

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const event = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    const body = JSON.stringify(await handler(event));
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
