// The floor baseline: the least a Lambda-style platform can do per call with one
// runtime process per concurrent invocation. Clients POST events here; N copies of
// our Node.js bootstrap long-poll this same server over the Runtime API paths; each
// event goes to a parked runtime and its answer back to the client. Three HTTP
// exchanges per call (client, next, response), no quotas, logs, limits or
// supervision. Prints its port; starts the runtimes itself.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runtimes = Number(process.argv[2] ?? 32);
const bootstrap = join(
  import.meta.dirname,
  '..',
  '..',
  'lib',
  'agent',
  'runtimes',
  'nodejs',
  'bootstrap.mjs',
);
const code = mkdtempSync(join(tmpdir(), 'selfless-floor-'));
writeFileSync(
  join(code, 'index.mjs'),
  'export const handler = async (event) => ({ ok: true, echo: event.n ?? null });',
);

const parked = [];
const queue = [];
const inflight = new Map();

function deliver(runtimeRes, job) {
  inflight.set(job.id, job.res);
  runtimeRes.writeHead(200, {
    'content-type': 'application/json',
    'lambda-runtime-aws-request-id': job.id,
    'lambda-runtime-deadline-ms': String(Date.now() + 3000),
    'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:000000000000:function:floor',
    'content-length': job.body.length,
  });
  runtimeRes.end(job.body);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = req.url;
    if (url.endsWith('/runtime/invocation/next')) {
      const job = queue.shift();
      if (job) deliver(res, job);
      else parked.push(res);
    } else if (url.includes('/runtime/invocation/')) {
      const id = url.split('/')[4];
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"OK"}');
      const client = inflight.get(id);
      inflight.delete(id);
      client
        ?.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
        .end(body);
    } else if (req.method === 'POST') {
      const job = { id: randomUUID(), body: body.length ? body : Buffer.from('{}'), res };
      const runtime = parked.pop();
      if (runtime) deliver(runtime, job);
      else queue.push(job);
    } else res.writeHead(404).end();
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const children = [];
  for (let i = 0; i < runtimes; i++) {
    children.push(
      spawn(process.execPath, [bootstrap], {
        stdio: 'ignore',
        env: {
          ...process.env,
          AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
          _HANDLER: 'index.handler',
          LAMBDA_TASK_ROOT: code,
          AWS_LAMBDA_FUNCTION_NAME: 'floor',
          AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
          AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/floor',
          AWS_LAMBDA_LOG_STREAM_NAME: 'floor',
        },
      }),
    );
  }
  const stop = () => {
    children.forEach((c) => c.kill('SIGKILL'));
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${port}\n`);
});
