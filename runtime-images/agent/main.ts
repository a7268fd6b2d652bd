// `selfless agent`: one execution environment in a pod. It pulls invocations of one
// function from the gateway over the HTTP worker channel and runs them in the
// runtime, until SIGTERM/SIGINT (then it finishes the call in flight and leaves).
// It polls every gateway replica the --gateway host name resolves to.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import {
  functionKey,
  parseFunctionManifest,
  parseFunctionSpec,
  type FunctionDefinition,
} from '../../lib/function.ts';
import { formatErrors } from '../../lib/parse.ts';
import { makeMultiGatewayChannel } from '../../lib/worker-channel/fanout.ts';
import { Agent } from '../../lib/agent/agent.ts';
import { platformVariables } from '../../lib/lambda-environment.ts';
import { EXTRACT_ZIP_USAGE, extractZipCommand } from './extract-zip.ts';
import { awaitSpecialization } from './pool.ts';
import { poolWorkerId } from '../../lib/warm-pool.ts';

export const AGENT_USAGE = `Usage: selfless agent --gateway URL --function NAME --code DIR [options]
       selfless agent --gateway URL --pool RUNTIME --code DIR [--tmp DIR] [--worker-id ID]

Runs one execution environment of a function: serves the Lambda Runtime API to the
runtime and pulls invocations from the gateway's worker channel.

  --gateway URL        the gateway (env SELFLESS_GATEWAY_URL). Its host name is
                       resolved every 5 s and every address polled (a headless
                       Service: every replica); URL,URL,... is a fixed list
  --function NAME      the function's name (its namespace: env SELFLESS_NAMESPACE)
  --code DIR           the function's code, already extracted (LAMBDA_TASK_ROOT)
  --version N          a published version of the function: the agent serves calls
                       of that version only (AWS_LAMBDA_FUNCTION_VERSION=N)
  --manifest FILE      a Function manifest (YAML) giving runtime, handler, limits and
                       variables; the flags below override it
  --runtime R          nodejs20.x | nodejs22.x | python3.12 | python3.13 | provided
  --handler H          file.function (default for provided: bootstrap)
  --memory-size MB     128-10240 (default 128)
  --timeout S          1-900 (default 3)
  --ephemeral-storage MB  512-10240 (default 512)
  --tmp DIR            this environment's /tmp (default: a new directory)
  --worker-id ID       unique per environment (default: hostname-random)
  --token TOKEN        bearer token for the worker channel (env SELFLESS_WORKER_TOKEN)
  --external-runtime   the runtime runs in another container (an image function):
                       serve it the Runtime API, do not start it
  --runtime-api HOST:PORT  where the Runtime API listens (default 127.0.0.1, any
                       free port; with --external-runtime required)
  --liveness-port PORT serve GET /healthz on 0.0.0.0:PORT: 503 while an external
                       runtime needs a restart (for the function container's probe)
  --pool RUNTIME       a warm-pool worker of RUNTIME in its namespace: no function
                       until a gateway orders one; its code is written into --code
                       (an empty, writable directory), then the agent serves it
  --max-memory-size MB with --pool: refuse functions with a larger memorySize

The runtime gets AWS_REGION, AWS_ENDPOINT_URL_*, and AWS credentials from this
process's environment.

${EXTRACT_ZIP_USAGE}
  extracts a function's zip as the worker pod's init container does: the Unix
  permissions stored in it kept, 0755 for entries without any, entries that would
  leave the directory refused.`;

type AgentArgs = ReturnType<typeof parseAgentArgs>;

function parseAgentArgs(args: string[]) {
  return parseArgs({
    args,
    options: {
      gateway: { type: 'string' },
      function: { type: 'string' },
      code: { type: 'string' },
      manifest: { type: 'string' },
      version: { type: 'string' },
      runtime: { type: 'string' },
      handler: { type: 'string' },
      'memory-size': { type: 'string' },
      timeout: { type: 'string' },
      'ephemeral-storage': { type: 'string' },
      tmp: { type: 'string' },
      'worker-id': { type: 'string' },
      token: { type: 'string' },
      'external-runtime': { type: 'boolean' },
      'runtime-api': { type: 'string' },
      'liveness-port': { type: 'string' },
      pool: { type: 'string' },
      'max-memory-size': { type: 'string' },
    },
    strict: true,
  }).values;
}

export function definitionFromArgs(args: string[]): FunctionDefinition | string {
  return definitionFrom(parseAgentArgs(args));
}

function definitionFrom(values: AgentArgs): FunctionDefinition | string {
  let base: Record<string, unknown> = {};
  let name = values.function;
  let namespace = process.env.SELFLESS_NAMESPACE;
  if (values.manifest) {
    const docs = parseAllDocuments(readFileSync(values.manifest, 'utf8')).map(
      (d) => d.toJS() as unknown,
    );
    const fnDoc = docs.find((d) => (d as { kind?: string } | null)?.kind === 'Function');
    if (!fnDoc) return `${values.manifest} holds no Function`;
    const parsed = parseFunctionManifest(fnDoc, dirname(resolve(values.manifest)));
    if (!parsed.ok) return `${values.manifest}: ${formatErrors(parsed.errors)}`;
    base = { ...parsed.value.spec };
    name ??= parsed.value.name;
    namespace ||= parsed.value.namespace;
  }
  if (!name) return '--function is required';
  if (!values.code) return '--code is required';
  if (values.version !== undefined && !/^[0-9]+$/.test(values.version))
    return '--version must be a version number';
  const int = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const spec: Record<string, unknown> = { ...base, code: { directory: values.code } };
  if (values.runtime) spec.runtime = values.runtime;
  if (values.handler) spec.handler = values.handler;
  if (values['memory-size']) spec.memorySize = int(values['memory-size']);
  if (values.timeout) spec.timeout = int(values.timeout);
  if (values['ephemeral-storage'])
    spec.ephemeralStorage = { size: int(values['ephemeral-storage']) };
  const parsed = parseFunctionSpec(spec);
  if (!parsed.ok) return formatErrors(parsed.errors);
  return {
    name,
    namespace: namespace || 'default',
    spec: parsed.value,
    ...(values.version !== undefined && { version: values.version }),
  };
}

/**
 * A pool worker's definition until its order comes: only the runtime and namespace
 * are real (they decide what it may become).
 */
function poolPlaceholder(values: AgentArgs): FunctionDefinition | string {
  if (!values.code) return '--code is required';
  if (values.function !== undefined || values.manifest !== undefined)
    return '--pool takes no --function or --manifest: a gateway gives it its function';
  const parsed = parseFunctionSpec({
    runtime: values.pool,
    handler: 'pool.handler',
    code: { directory: values.code },
  });
  if (!parsed.ok) return `--pool: ${formatErrors(parsed.errors)}`;
  return {
    name: 'pool',
    namespace: process.env.SELFLESS_NAMESPACE || 'default',
    spec: parsed.value,
  };
}

export async function agentCommand(args: string[]): Promise<number> {
  if (args[0] === 'extract-zip') return extractZipCommand(args.slice(1));
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(AGENT_USAGE + '\n');
    return 0;
  }
  let fn: FunctionDefinition | string;
  let values: AgentArgs = {};
  try {
    values = parseAgentArgs(args);
    fn = values.pool === undefined ? definitionFrom(values) : poolPlaceholder(values);
  } catch (err) {
    fn = err instanceof Error ? err.message : String(err);
  }
  const gateway = values.gateway ?? process.env.SELFLESS_GATEWAY_URL;
  const external = values['external-runtime'] === true;
  const livenessPort =
    values['liveness-port'] === undefined ? undefined : Number(values['liveness-port']);
  const problem =
    typeof fn === 'string'
      ? fn
      : !gateway
        ? '--gateway is required'
        : external && !values['runtime-api']
          ? '--external-runtime needs --runtime-api HOST:PORT'
          : values['runtime-api'] !== undefined && !/^.+:\d+$/.test(values['runtime-api'])
            ? '--runtime-api must be HOST:PORT'
            : livenessPort !== undefined && !(Number.isInteger(livenessPort) && livenessPort > 0)
              ? '--liveness-port must be a port number'
              : undefined;
  if (problem !== undefined || typeof fn === 'string' || !gateway) {
    process.stderr.write(`selfless agent: ${problem}\n\n${AGENT_USAGE}\n`);
    return 2;
  }
  const env = platformVariables(process.env);
  const token = values.token ?? process.env.SELFLESS_WORKER_TOKEN;
  const unique = randomUUID().slice(0, 8);
  const workerId =
    values['worker-id'] ??
    (values.pool === undefined ? `${hostname()}-${unique}` : poolWorkerId(hostname(), unique));
  const log = (line: string) => process.stdout.write(line + '\n');
  const gateways = gateway.includes(',') ? gateway.split(',').map((g) => g.trim()) : gateway;
  const channel = makeMultiGatewayChannel(gateways, { log, ...(token !== undefined && { token }) });
  const stopping = new AbortController();
  const stopped = new Promise<void>((resolveSignal) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const)
      process.once(sig, () => {
        stopping.abort();
        resolveSignal();
      });
  });
  if (values.pool !== undefined) {
    try {
      fn = await awaitSpecialization({
        channel,
        workerId,
        namespace: fn.namespace,
        runtime: fn.spec.runtime,
        codeDir: resolve(values.code!),
        pod: hostname(),
        ...(values['max-memory-size'] !== undefined && {
          maxMemorySize: Number(values['max-memory-size']),
        }),
        signal: stopping.signal,
        log,
      });
    } catch (err) {
      if (stopping.signal.aborted) return 0;
      throw err;
    }
  }
  const agent = new Agent({
    channel,
    // The gateway knows a function by its namespace-qualified key, a version by key:N.
    worker: {
      workerId,
      functionName:
        functionKey(fn.namespace, fn.name) + (fn.version === undefined ? '' : `:${fn.version}`),
    },
    fn,
    codeDir: resolve(values.code!),
    tmpDir: values.tmp ?? join(tmpdir(), `selfless-${workerId}`),
    env,
    log,
    ...(values['runtime-api'] !== undefined && { runtimeApiAddress: values['runtime-api'] }),
    externalRuntime: external,
  });
  await agent.start();
  const liveness =
    livenessPort === undefined
      ? undefined
      : createServer((req, res) => {
          req.resume();
          const [status, text] =
            req.url !== '/healthz'
              ? [404, 'not found']
              : agent.runtimeNeedsRestart
                ? [503, 'the runtime needs a restart']
                : [200, 'ok'];
          res.writeHead(status, { 'Content-Type': 'text/plain' });
          res.end(text + '\n');
        }).listen(livenessPort, '0.0.0.0');
  await stopped;
  liveness?.close();
  // The pod's grace period (the function's timeout + 5 s) lets the calls in flight
  // finish; a second signal cuts them short.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void agent.stop());
  await agent.drain();
  return 0;
}
