// Real services as local processes, from the binaries that provision.sh caches.
// Each starts on free loopback ports in a fresh temporary directory.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import {
  binDir,
  cacheDir,
  freePort,
  startProcess,
  trackWorkDir,
  untrackWorkDir,
  waitUntil,
  type ServiceProcess,
} from './process.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** Must match CASSANDRA_VERSION in provision.sh. */
export const CASSANDRA_VERSION = '5.0.6';

export interface Started<T> {
  endpoint: T;
  stop(): Promise<void>;
}

function workDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `selfless-${name}-`));
  trackWorkDir(dir);
  return dir;
}

function requireBinary(name: string): string {
  const path = join(binDir, name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`bash test/services/provision.sh\` (npm test does)`);
  }
  return path;
}

function stopAll(dir: string, ...procs: ServiceProcess[]): () => Promise<void> {
  return async () => {
    for (const p of procs.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
    untrackWorkDir(dir);
  };
}

export async function startRedis(): Promise<Started<string>> {
  const dir = workDir('redis');
  const port = await freePort();
  // AOF on: the async queue's durability is part of what the tests check.
  const proc = startProcess(
    'redis',
    requireBinary('redis-server'),
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--dir',
      dir,
    ],
    { logDir: dir },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitUntil(proc, 'PONG', 20_000, async () => {
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } finally {
      client.disconnect();
    }
  });
  return { endpoint: url, stop: stopAll(dir, proc) };
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function jvmOptions(): string[] {
  return readFileSync(join(here, 'cassandra', 'jvm.options'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Apache Cassandra 5.0 on the installed JDK: one node, CQL on a free port. */
export async function startCassandra(): Promise<Started<string>> {
  const libDir = join(cacheDir, `cassandra-${CASSANDRA_VERSION}`, 'lib');
  if (!existsSync(libDir)) {
    throw new Error(`${libDir} is missing: run \`bash test/services/provision.sh cql\``);
  }
  const dir = workDir('cassandra');
  const [cqlPort, storagePort] = [await freePort(), await freePort()];
  const yaml = `cluster_name: selfless-test
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: ${storagePort}
native_transport_port: ${cqlPort}
start_native_transport: true
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:${storagePort}"
data_file_directories: [${dir}/data]
commitlog_directory: ${dir}/commitlog
saved_caches_directory: ${dir}/saved_caches
hints_directory: ${dir}/hints
cdc_raw_directory: ${dir}/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
auto_snapshot: false
snapshot_on_duplicate_row_detection: false
`;
  const yamlFile = join(dir, 'cassandra.yaml');
  writeFileSync(yamlFile, yaml);
  const args = [
    ...jvmOptions(),
    `-Dlogback.configurationFile=${join(here, 'cassandra', 'logback.xml')}`,
    `-Dcassandra.config=file://${yamlFile}`,
    '-Dcassandra-foreground=yes',
    `-Dcassandra.storagedir=${dir}`,
    `-Dcassandra.logdir=${dir}`,
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.initial_token=0',
    '-Dcassandra.ring_delay_ms=0',
    '-Dcassandra.superuser_setup_delay_ms=0',
    '-cp',
    `${libDir}/*`,
    'org.apache.cassandra.service.CassandraDaemon',
  ];
  const proc = startProcess('cassandra', 'java', args, { logDir: dir });
  await waitUntil(proc, 'CQL listener', 180_000, async () => {
    const log = readFileSync(proc.logFile, 'utf8');
    return log.includes('Starting listening for CQL clients') && (await portAccepts(cqlPort));
  });
  return { endpoint: `127.0.0.1:${cqlPort}`, stop: stopAll(dir, proc) };
}

function httpsGet(url: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * etcd + kube-apiserver, flags as controller-runtime's envtest uses them. There is
 * no kubelet, scheduler or controller-manager: objects are stored, pods never run.
 * Returns the path of a kubeconfig with an admin (system:masters) token.
 */
export async function startKubeApiServer(): Promise<Started<string>> {
  const dir = workDir('kube');
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcd = startProcess(
    'etcd',
    requireBinary('etcd'),
    [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
    ],
    { logDir: dir },
  );
  await waitUntil(etcd, 'client port', 30_000, async () => {
    const res = await fetch(`http://127.0.0.1:${etcdPort}/health`);
    return res.ok;
  });

  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'sa.key');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const api = startProcess(
    'kube-apiserver',
    requireBinary('kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      `--service-account-issuer=https://127.0.0.1:${apiPort}`,
      `--service-account-key-file=${keyFile}`,
      `--service-account-signing-key-file=${keyFile}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
    ],
    { logDir: dir },
  );
  const server = `https://127.0.0.1:${apiPort}`;
  await waitUntil(api, '/readyz ok', 120_000, async () => {
    const res = await httpsGet(`${server}/readyz`, token);
    return res.status === 200 && res.body.trim() === 'ok';
  });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
  - name: selfless-test
    cluster: { server: "${server}", insecure-skip-tls-verify: true }
users:
  - name: admin
    user: { token: "${token}" }
contexts:
  - name: selfless-test
    context: { cluster: selfless-test, user: admin, namespace: default }
current-context: selfless-test
`,
  );
  return { endpoint: kubeconfig, stop: stopAll(dir, etcd, api) };
}

export function awsCliBinary(): string {
  return requireBinary('aws');
}

export function helmBinary(): string {
  return requireBinary('helm');
}

export function kubectlBinary(): string {
  return requireBinary('kubectl');
}

export function prometheusBinary(): string {
  return requireBinary('prometheus');
}

export function promtoolBinary(): string {
  return requireBinary('promtool');
}

/** The Prometheus Operator's ServiceMonitor and PrometheusRule CRDs (`provision.sh prometheus`). */
export function prometheusOperatorCrds(): string {
  const version = /^PROMETHEUS_OPERATOR_VERSION=(\S+)$/m.exec(
    readFileSync(join(here, 'versions.sh'), 'utf8'),
  )![1]!;
  const dir = join(cacheDir, `prometheus-operator-${version}`, 'crds');
  if (!existsSync(dir)) {
    throw new Error(`${dir} is missing: run \`bash test/services/provision.sh prometheus\``);
  }
  return dir;
}
