// bench/tables: GetItem, PutItem and Query throughput and p99 over raw HTTP
// (autocannon, in this process; each server in its own process), against two
// baselines in the same run:
//   dynalite  - the embedded DynamoDB emulator, against selfless on sqlite;
//   raw CQL   - cassandra-driver prepared statements doing the same reads and
//               writes on the same Cassandra, against selfless on cql.
//
//   node --import tsx bench/tables/run.ts [--duration 8] [--connections 32] [--no-cql]
//     [--no-sqlite] [--cpu-prof DIR] [--tsx]
// The servers run from an esbuild bundle of serve.ts made as the images make theirs
// (cli/bundle.ts: ESM, node20, packages external), since that is what a deployed
// table service runs; --tsx runs the sources through tsx instead (slower: tsx keeps
// function names with a helper called at every closure).
// CQL_CONTACT_POINTS names a CQL database; without it the project's local
// Cassandra (test/services) is started for the run. --cpu-prof writes V8 CPU
// profiles of each selfless server (node --cpu-prof) into DIR/<target>/, one per
// thread (the main thread's is the larger; the other is tsx's loader).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

const run = promisify(execFile);
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import cassandra from 'cassandra-driver';
import { keyBytes } from '../../tables/values.ts';
import { startCassandra, type Started } from '../../test/services/local.ts';

const root = resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    'no-cql': { type: 'boolean', default: false },
    'no-sqlite': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    tsx: { type: 'boolean', default: false },
  },
});
const duration = Number(values.duration);
// Every measured load follows an unmeasured one of the same requests, so no target
// is measured while its JIT is still compiling the path (a cold floor read at
// 1,300 µs CPU per request in a loaded run, against ~100 warm).
const warmup = Math.max(1, Math.round(duration / 4));
const connections = Number(values.connections);
const keys = 1000;
const partitions = 20;
const payload = 'x'.repeat(200);

// dynalite insists on an Authorization header (it does not verify it); selfless
// without configured keys ignores it.
const headers = (action: string) => ({
  'x-amz-target': `DynamoDB_20120810.${action}`,
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-date': '20260101T000000Z',
  authorization:
    'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=' +
    '0'.repeat(64),
});

let bundled: string | undefined;
/** How a server process starts: the bundle (built once per run) or tsx over the source. */
async function serveEntry(): Promise<string[]> {
  if (values.tsx) return ['--import', 'tsx', 'bench/tables/serve.ts'];
  if (!bundled) {
    // Beside node_modules, so the external packages resolve as they do in the image.
    bundled = join(root, 'node_modules', '.cache', 'selfless-bench', 'serve.mjs');
    await build({
      entryPoints: [join(root, 'bench', 'tables', 'serve.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: bundled,
      logLevel: 'warning',
    });
  }
  return [bundled];
}

const children: ChildProcess[] = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

async function serve(
  target: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ url: string; child: ChildProcess }> {
  const prof =
    values['cpu-prof'] && target.startsWith('selfless')
      ? ['--cpu-prof', '--cpu-prof-dir', join(values['cpu-prof'], target)]
      : [];
  const args = [...prof, ...(await serveEntry()), target];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`${target}: not ready: ${out}`)), 60_000);
    child.stdout!.on('data', (c) => {
      out += c;
      const m = /listening (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        ok({ url: `http://127.0.0.1:${m[1]}`, child });
      }
    });
  });
}

async function call(url: string, action: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: headers(action),
    body: JSON.stringify(body),
  });
  const out = await res.json();
  if (res.status !== 200) throw new Error(`${action}: ${JSON.stringify(out)}`);
  return out;
}

const getBody = (i: number) => ({ TableName: 'bench', Key: { id: { S: `k${i}` } } });
const putBody = (i: number) => ({
  TableName: 'bench',
  Item: { id: { S: `k${i}` }, n: { N: String(i) }, payload: { S: payload } },
});
const queryBody = (p: number) => ({
  TableName: 'events',
  KeyConditionExpression: 'pk = :p AND sk >= :s',
  ExpressionAttributeValues: { ':p': { S: `p${p}` }, ':s': { N: '10' } },
  Limit: 10,
});

async function seed(url: string): Promise<void> {
  await call(url, 'CreateTable', {
    TableName: 'bench',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  await call(url, 'CreateTable', {
    TableName: 'events',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  });
  const puts: Promise<unknown>[] = [];
  for (let i = 0; i < keys; i++) {
    puts.push(call(url, 'PutItem', putBody(i)));
    const p = i % partitions;
    puts.push(
      call(url, 'PutItem', {
        TableName: 'events',
        Item: {
          pk: { S: `p${p}` },
          sk: { N: String(Math.floor(i / partitions)) },
          payload: { S: payload },
        },
      }),
    );
    if (puts.length >= 64) await Promise.all(puts.splice(0));
  }
  await Promise.all(puts);
}

interface Result {
  rps: number;
  p99: number;
  errors: number;
  /** CPU time (user + system) per request of the Node process serving it, in µs. */
  cpuUs?: number;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name's closing parenthesis; utime and stime are 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
  } catch {
    return undefined;
  }
}

/** A load run with the serving process's CPU per request beside it: load-independent. */
async function loadWithCpu(
  pid: number,
  url: string,
  action: string,
  body: (i: number) => unknown,
): Promise<Result> {
  await load(url, action, body, warmup);
  const before = cpuSeconds(pid);
  const r = await load(url, action, body);
  const after = cpuSeconds(pid);
  const requests = r.rps * duration;
  if (before !== undefined && after !== undefined && requests > 0) {
    r.cpuUs = ((after - before) * 1e6) / requests;
  }
  return r;
}

/** wrk (C, from Debian) when installed: it costs far less CPU per request than autocannon. */
const wrk = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));

async function load(
  url: string,
  action: string,
  body: (i: number) => unknown,
  seconds = duration,
): Promise<Result> {
  return wrk ? loadWrk(url, action, body, seconds) : loadAutocannon(url, action, body, seconds);
}

async function loadWrk(
  url: string,
  action: string,
  body: (i: number) => unknown,
  seconds: number,
): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tables-'));
  const script = join(dir, 'load.lua');
  // The bodies are generated here and cycled by the script.
  const bodies = Array.from({ length: keys }, (_, i) => JSON.stringify(body(i)));
  const lua = [
    'wrk.method = "POST"',
    ...Object.entries(headers(action)).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`),
    `local bodies = {${bodies.map((b) => `[==[${b}]==]`).join(',')}}`,
    'local n = 0',
    'request = function() n = n % #bodies + 1 return wrk.format(nil, "/", nil, bodies[n]) end',
  ].join('\n');
  writeFileSync(script, lua);
  try {
    const { stdout } = await run(wrk!, [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--latency',
      '-s',
      script,
      url,
    ]);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
    const p99m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
    const p99 = p99m
      ? Number(p99m[1]) * (p99m[2] === 'us' ? 0.001 : p99m[2] === 's' ? 1000 : 1)
      : NaN;
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    const sockErr = /Socket errors:.*/.exec(stdout)?.[0];
    return { rps, p99, errors: non2xx + (sockErr ? 1 : 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function loadAutocannon(
  url: string,
  action: string,
  body: (i: number) => unknown,
  seconds: number,
): Promise<Result> {
  let n = 0;
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: headers(action),
        setupRequest: (req) => ({ ...req, body: JSON.stringify(body(n++ % keys)) }),
      },
    ],
  });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

type Op = 'GetItem' | 'PutItem' | 'Query';
const ops: [Op, (i: number) => unknown][] = [
  ['GetItem', getBody],
  ['PutItem', putBody],
  ['Query', (i) => queryBody(i % partitions)],
];

async function measureHttp(
  target: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Record<Op, Result>> {
  const { url, child } = await serve(target, env);
  await seed(url);
  const out = {} as Record<Op, Result>;
  for (const [op, body] of ops) out[op] = await loadWithCpu(child.pid!, url, op, body);
  child.kill('SIGTERM');
  return out;
}

/** The same work as the service does, straight through prepared statements. */
async function measureRawCql(client: cassandra.Client, ks: string): Promise<Record<Op, Result>> {
  const items = `${ks}.raw_items`;
  const events = `${ks}.raw_events`;
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${items} (pk blob, sk blob, item text, v timeuuid, PRIMARY KEY (pk, sk))`,
  );
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${events} (pk blob, sk blob, item text, v timeuuid, PRIMARY KEY (pk, sk))`,
  );
  const empty = Buffer.alloc(0);
  const hk = (s: string) => keyBytes('S', { S: s });
  const itemJson = (i: number) => JSON.stringify(putBody(i).Item);
  const insert = `INSERT INTO ${items} (pk, sk, item, v) VALUES (?, ?, ?, now())`;
  for (let i = 0; i < keys; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        Promise.all([
          client.execute(insert, [hk(`k${i + j}`), empty, itemJson(i + j)], { prepare: true }),
          client.execute(
            `INSERT INTO ${events} (pk, sk, item, v) VALUES (?, ?, ?, now())`,
            [
              hk(`p${(i + j) % partitions}`),
              keyBytes('N', { N: String(Math.floor((i + j) / partitions)) }),
              itemJson(i + j),
            ],
            { prepare: true },
          ),
        ]),
      ),
    );
  }
  const work: Record<Op, (i: number) => Promise<unknown>> = {
    GetItem: (i) =>
      client
        .execute(`SELECT item FROM ${items} WHERE pk = ? AND sk = ?`, [hk(`k${i}`), empty], {
          prepare: true,
        })
        .then((rs) => rs.first() && JSON.parse(rs.first().item as string)),
    PutItem: (i) => client.execute(insert, [hk(`k${i}`), empty, itemJson(i)], { prepare: true }),
    Query: (i) =>
      client
        .execute(
          `SELECT item FROM ${events} WHERE pk = ? AND sk >= ? ORDER BY sk ASC LIMIT 10`,
          [hk(`p${i % partitions}`), keyBytes('N', { N: '10' })],
          { prepare: true, fetchSize: 11 },
        )
        .then((rs) => rs.rows.map((r) => JSON.parse(r.item as string) as unknown)),
  };
  const out = {} as Record<Op, Result>;
  for (const [op] of ops) {
    await runRaw(op, warmup);
    out[op] = await runRaw(op, duration);
  }
  return out;

  async function runRaw(op: Op, seconds: number): Promise<Result> {
    const latencies: number[] = [];
    let n = 0;
    let errors = 0;
    const end = Date.now() + seconds * 1000;
    const cpu0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (Date.now() < end) {
          const t0 = performance.now();
          try {
            await work[op](n++ % keys);
          } catch {
            errors++;
          }
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const cpu = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    return {
      rps: latencies.length / seconds,
      p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      errors,
      cpuUs: (cpu.user + cpu.system) / Math.max(1, latencies.length),
    };
  }
}

function report(
  title: string,
  ours: string,
  base: string,
  a: Record<Op, Result>,
  b: Record<Op, Result>,
): void {
  // CPU per request of the Node process doing the work (the server; for the raw
  // driver, this process): unlike req/s, it hardly moves with the machine's load.
  const cpu = (r: Result) => (r.cpuUs === undefined ? '-' : Math.round(r.cpuUs));
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(
    `| op | ${ours} req/s | p99 ms | µs CPU/req | ${base} req/s | p99 ms | µs CPU/req | ratio |\n|---|---|---|---|---|---|---|---|\n`,
  );
  for (const [op] of ops) {
    const x = a[op];
    const y = b[op];
    process.stdout.write(
      `| ${op} | ${Math.round(x.rps)} | ${x.p99.toFixed(1)} | ${cpu(x)} | ${Math.round(y.rps)} | ${y.p99.toFixed(1)} | ${cpu(y)} | ${(x.rps / y.rps).toFixed(2)}x |` +
        (x.errors || y.errors ? ` errors ${x.errors}/${y.errors}` : '') +
        '\n',
    );
  }
}

process.stdout.write(
  `duration ${duration} s per op, ${connections} connections, load from ${wrk ? 'wrk' : 'autocannon'}\n`,
);
if (!values['no-sqlite']) {
  const sqlite = await measureHttp('selfless-sqlite');
  const dyn = await measureHttp('dynalite');
  report('selfless (sqlite) vs dynalite', 'selfless', 'dynalite', sqlite, dyn);
  const { url, child } = await serve('floor');
  const floor = await load(url, 'GetItem', getBody);
  child.kill('SIGTERM');
  process.stdout.write(
    `\nnode:http floor (read, parse, fixed answer): ${Math.round(floor.rps)} req/s, p99 ${floor.p99.toFixed(1)} ms; ` +
      `selfless GetItem is ${Math.round((100 * sqlite.GetItem.rps) / floor.rps)} % of it, dynalite ${Math.round((100 * dyn.GetItem.rps) / floor.rps)} %\n`,
  );
}

// Without CQL_CONTACT_POINTS, the project's local Cassandra (test/services) is
// started for the run and stopped after it.
let cassandraProcess: Started<string> | undefined;
if (!process.env.CQL_CONTACT_POINTS && !values['no-cql']) {
  cassandraProcess = await startCassandra();
  process.env.CQL_CONTACT_POINTS = cassandraProcess.endpoint;
}
const contactPoints = process.env.CQL_CONTACT_POINTS;
if (contactPoints) {
  const ks = `selfless_bench_${randomBytes(4).toString('hex')}`;
  const localDataCenter = process.env.CQL_LOCAL_DATACENTER ?? 'datacenter1';
  const client = new cassandra.Client({ contactPoints: contactPoints.split(','), localDataCenter });
  await client.connect();
  try {
    const cql = await measureHttp('selfless-cql', { BENCH_KEYSPACE: ks });
    const raw = await measureRawCql(client, ks);
    report('selfless (cql) vs raw cassandra-driver', 'selfless', 'raw', cql, raw);
    const { url, child } = await serve('cql-floor', { BENCH_KEYSPACE: ks });
    const floor = {} as Record<Op, Result>;
    for (const [op, body] of ops) floor[op] = await loadWithCpu(child.pid!, url, op, body);
    child.kill('SIGTERM');
    report(
      'selfless (cql) vs node:http + the same one prepared CQL statement (the HTTP-over-CQL floor)',
      'selfless',
      'floor',
      cql,
      floor,
    );
    report('the HTTP-over-CQL floor vs raw cassandra-driver', 'floor', 'raw', floor, raw);
  } finally {
    await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`);
    await client.shutdown();
    await cassandraProcess?.stop();
  }
}
process.exit(0);
