// LoggingConfig end to end through a real Agent: the JSON system records it writes,
// and the bootstraps' JSON application records set beside the official runtime
// interface clients' own output for the same handler (`provision.sh ric`).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { withAgent } from '../../test/support/agent.ts';

const versions = readFileSync(
  resolve(import.meta.dirname, '../../test/services/versions.sh'),
  'utf8',
);
const pinned = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(versions)![1]!;
const cache = process.env.SELFLESS_CACHE ?? join(homedir(), '.cache', 'selfless');
const nodeRic = join(
  cache,
  `aws-lambda-ric-${pinned('NODE_RIC_VERSION')}`,
  'node_modules',
  'aws-lambda-ric',
  'bin',
  'index.mjs',
);
const pythonRic = join(cache, `awslambdaric-${pinned('PYTHON_RIC_VERSION')}`, 'bin', 'python');

type Json = Record<string, unknown>;

function records(logs: string[]): Json[] {
  return logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);
}

/**
 * A record with what differs between two runs made comparable: times, request
 * ids, stack frames (the RICs' own frames are not ours) and source paths; a
 * time keeps its shape, digits zeroed.
 */
function comparable(r: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === 'timestamp' || k === 'time') out[k] = String(v).replace(/\d/g, '0');
    else if (k === 'requestId') out[k] = v === '' ? '' : 'ID';
    else if (k === 'stackTrace') out[k] = Array.isArray(v) ? ['...'] : v;
    else if (k === 'location') out[k] = String(v).replace(/^.*\//, '');
    else if (typeof v === 'string') out[k] = v.replace(/\n {4}at .*/g, '');
    else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = comparable(v as Json);
    else out[k] = v;
  }
  return out;
}

async function appRecords(
  spec: Record<string, unknown>,
  files: Record<string, string>,
  events: unknown[],
): Promise<Json[]> {
  let out: Json[] = [];
  await withAgent({ spec, files }, async ({ channel, logs }) => {
    for (const e of events) await channel.invoke(e);
    out = records(logs).filter((r) => !String(r.type).startsWith('platform.'));
  });
  return out.map(comparable);
}

const json = (level = 'TRACE') => ({ logFormat: 'JSON', applicationLogLevel: level });

describe('LoggingConfig through the agent', () => {
  it('writes platform.start and platform.report (no START/END/REPORT lines) in JSON format, in the log and its tail', async () => {
    const files = {
      'index.mjs': `export const handler = async () => { console.log('hi'); return 1; };`,
    };
    await withAgent(
      {
        spec: { runtime: 'nodejs20.x', handler: 'index.handler', loggingConfig: json('INFO') },
        files,
      },
      async ({ channel, logs }) => {
        const r = await channel.invoke({}, { logTail: true });
        const tail = Buffer.from(r.logResult!, 'base64').toString('utf8').trimEnd().split('\n');
        assert.ok(!logs.some((l) => /^(START|END|REPORT) RequestId/.test(l)), logs.join('\n'));
        const mine = records(logs).filter(
          (x) => x.requestId === r.requestId || (x.record as Json)?.requestId === r.requestId,
        );
        assert.deepEqual(
          mine.map((x) => x.type ?? x.level),
          ['platform.start', 'INFO', 'platform.report'],
        );
        assert.deepEqual(
          tail.map((l) => (JSON.parse(l) as Json).type ?? 'app'),
          ['platform.start', 'app', 'platform.report'],
        );
        const report = mine[2]!;
        assert.match(String(report.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.deepEqual(Object.keys(report.record as Json), ['requestId', 'metrics', 'status']);
        const metrics = (report.record as Json).metrics as Json;
        assert.deepEqual(Object.keys(metrics), [
          'durationMs',
          'billedDurationMs',
          'memorySizeMB',
          'maxMemoryUsedMB',
          'initDurationMs',
        ]);
        assert.equal(metrics.memorySizeMB, 128);
        assert.equal((report.record as Json).status, 'success');
      },
    );
  });

  it('adds platform.runtimeDone at SystemLogLevel DEBUG, with the error status of a failed invocation', async () => {
    const files = {
      'index.mjs': `export const handler = async () => { throw new TypeError('no'); };`,
    };
    const loggingConfig = { logFormat: 'JSON', systemLogLevel: 'DEBUG' };
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler', loggingConfig }, files },
      async ({ channel, logs }) => {
        const r = await channel.invoke({});
        assert.equal(r.functionError, 'Unhandled');
        const platform = records(logs).filter((x) => String(x.type).startsWith('platform.'));
        assert.deepEqual(
          platform.map((x) => x.type),
          ['platform.start', 'platform.runtimeDone', 'platform.report'],
        );
        assert.deepEqual(
          { ...(platform[1]!.record as Json), metrics: undefined },
          { requestId: r.requestId, status: 'error', errorType: 'TypeError', metrics: undefined },
        );
        assert.equal((platform[2]!.record as Json).status, 'error');
      },
    );
  });

  it('writes no system records at SystemLogLevel WARN', async () => {
    const files = { 'index.mjs': `export const handler = async () => 1;` };
    const loggingConfig = { logFormat: 'JSON', systemLogLevel: 'WARN' };
    await withAgent(
      { spec: { runtime: 'nodejs20.x', handler: 'index.handler', loggingConfig }, files },
      async ({ channel, logs }) => {
        await channel.invoke({});
        assert.deepEqual(logs, []);
      },
    );
  });

  it("filters a custom runtime's lines by ApplicationLogLevel: a JSON level with a timestamp, anything else INFO", async () => {
    const files = {
      bootstrap: `#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
id=$(curl -sS -D - -o /dev/null "$api/invocation/next" | tr -d '\\r' | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: //p')
echo '{"timestamp":"2026-12-03T10:00:00Z","level":"debug","message":"hidden debug"}'
echo '{"timestamp":"2026-12-03T10:00:00Z","level":"error","message":"shown"}'
echo '{"level":"error","message":"hidden: no timestamp, so INFO"}'
echo 'hidden plain line, INFO'
curl -sS -X POST -d '1' "$api/invocation/$id/response" >/dev/null
sleep 60
`,
    };
    await withAgent(
      { spec: { runtime: 'provided', loggingConfig: json('WARN') }, files },
      async ({ channel, logs }) => {
        const r = await channel.invoke({});
        assert.equal(r.payload.toString(), '1');
        assert.ok(logs.some((l) => l.includes('"shown"')));
        assert.ok(!logs.some((l) => l.includes('hidden')), logs.join('\n'));
      },
    );
  });

  it("writes the Node.js runtime's JSON records as npm aws-lambda-ric does for the same handler", async () => {
    assert.ok(
      existsSync(nodeRic),
      `${nodeRic} is missing: run bash test/services/provision.sh ric`,
    );
    const handler = `console.warn('at init');
export const handler = async (e) => {
  if (e.fail) throw new RangeError('too far');
  console.trace('t');
  console.debug('d %d', 1);
  console.log({ nested: { a: [1] }, n: null });
  console.info('two', 'args');
  console.warn(new Error('as the only argument'));
  console.error('failed:', new TypeError('bad'), 'after');
  console.log('%s is %j', 'json', { x: 1 });
  console.info();
  return 1;
};`;
    const events = [{}, { fail: true }];
    const ours = await appRecords(
      { runtime: 'nodejs20.x', handler: 'index.handler', loggingConfig: json() },
      { 'index.mjs': handler },
      events,
    );
    const theirs = await appRecords(
      { runtime: 'provided', handler: 'index.handler', loggingConfig: json() },
      {
        'index.mjs': handler,
        bootstrap: `#!/bin/sh\nexec "${process.execPath}" "${nodeRic}" "$_HANDLER"\n`,
      },
      events,
    );
    assert.deepEqual(ours, theirs);
    assert.equal(ours.length, 10);
  });

  it("writes the Python runtime's JSON records as PyPI awslambdaric does for the same handler", async () => {
    assert.ok(
      existsSync(pythonRic),
      `${pythonRic} is missing: run bash test/services/provision.sh ric`,
    );
    const app = `import logging
log = logging.getLogger("orders")
log.warning("at init")
def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad value")
    logging.debug("root debug")
    log.info("i %s", "formatted")
    log.warning("w", extra={"orderId": 7, "tags": ["a"]})
    logging.log(25, "between levels")
    try:
        raise KeyError("k")
    except KeyError:
        log.exception("failed")
    log.critical("c")
    log.info({"as": "object"})
    log.info({"with": "%s"}, "args")
    print("plain")
    return 1
`;
    const events = [{}, { fail: true }];
    const ours = await appRecords(
      { runtime: 'python3.12', handler: 'app.handler', loggingConfig: json('DEBUG') },
      { 'app.py': app },
      events,
    );
    const theirs = await appRecords(
      { runtime: 'provided', handler: 'app.handler', loggingConfig: json('DEBUG') },
      { 'app.py': app, bootstrap: `#!/bin/sh\nexec "${pythonRic}" -m awslambdaric "$_HANDLER"\n` },
      events,
    );
    assert.deepEqual(ours, theirs);
    assert.equal(ours.length, 10);
  });

  it('logs a failed init as the official clients do, in both runtimes', async () => {
    assert.ok(
      existsSync(nodeRic) && existsSync(pythonRic),
      'run bash test/services/provision.sh ric',
    );
    const node = { 'index.mjs': 'export const other = async () => 1;' };
    const nodeRicBootstrap = `#!/bin/sh\nexec "${process.execPath}" "${nodeRic}" "$_HANDLER"\n`;
    assert.deepEqual(
      await appRecords(
        { runtime: 'nodejs20.x', handler: 'index.handler', loggingConfig: json() },
        node,
        [{}],
      ),
      await appRecords(
        { runtime: 'provided', handler: 'index.handler', loggingConfig: json() },
        { ...node, bootstrap: nodeRicBootstrap },
        [{}],
      ),
    );
    const py = { 'app.py': 'raise RuntimeError("broken at import")\n' };
    const pyRicBootstrap = `#!/bin/sh\nexec "${pythonRic}" -m awslambdaric "$_HANDLER"\n`;
    assert.deepEqual(
      await appRecords(
        { runtime: 'python3.12', handler: 'app.handler', loggingConfig: json() },
        py,
        [{}],
      ),
      await appRecords(
        { runtime: 'provided', handler: 'app.handler', loggingConfig: json() },
        { ...py, bootstrap: pyRicBootstrap },
        [{}],
      ),
    );
  });
});
