// The real cluster's handle: `cluster.sh up` prints KUBECONFIG, GATEWAY_URL and
// TABLES_URL as its last lines and both answer from the host (the table service through
// Cassandra); `cluster.sh down`, twice, leaves no process, mount, iptables rule or
// chain, ipset, link, network namespace or state directory that was not there before.
// Needs root. A cluster that is already up belongs to someone else (an e2e run, a
// user): the test leaves it alone and skips. The first run on a machine provisions the
// binaries (about 20 minutes of Go builds); later runs take a few minutes. `npm test`
// runs it in its end-to-end phase, alone, before that phase's own cluster goes up.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clusterStateDir, leftovers, snapshot } from './cluster-leftovers.ts';

const script = join(import.meta.dirname, 'cluster.sh');

function cluster(verb: 'up' | 'down'): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    // Progress (stderr) goes to the test's own output: a slow first run shows why.
    const child = spawn('bash', [script, verb], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

const skip =
  process.getuid?.() !== 0
    ? 'needs root'
    : existsSync(join(clusterStateDir, 'run', 'kube-apiserver.pid'))
      ? `a cluster is up (${clusterStateDir}): not ours to take down`
      : process.env.SELFLESS_SKIP_CLUSTER
        ? 'SELFLESS_SKIP_CLUSTER is set'
        : false;

test(
  'cluster.sh up answers on both URLs; down, twice, leaves nothing behind',
  { skip, timeout: 60 * 60_000 },
  async (t) => {
    const before = await snapshot();
    t.after(async () => {
      await cluster('down'); // whatever failed above, do not leave a cluster running
    });

    const up = await cluster('up');
    assert.equal(up.code, 0, 'cluster.sh up exits 0');
    const last = up.stdout.trim().split('\n').slice(-3);
    assert.match(last[0]!, /^KUBECONFIG=\//);
    assert.match(last[1]!, /^GATEWAY_URL=http:\/\/[\d.]+:\d+$/);
    assert.match(last[2]!, /^TABLES_URL=http:\/\/[\d.]+:\d+$/);
    const env = Object.fromEntries(last.map((l) => l.split(/=(.*)/s).slice(0, 2)));
    assert.ok(existsSync(env.KUBECONFIG!), 'the kubeconfig exists');

    // The table service, through the NodePort, over Cassandra: a real DynamoDB answer.
    const tables = await fetch(env.TABLES_URL!, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.ListTables',
      },
      body: '{}',
    });
    assert.equal(tables.status, 200, await tables.clone().text());
    assert.ok(Array.isArray(((await tables.json()) as { TableNames: unknown }).TableNames));
    // The gateway's Lambda control plane, through its NodePort.
    const fns = await fetch(`${env.GATEWAY_URL}/2015-03-31/functions/`);
    assert.equal(fns.status, 200, await fns.clone().text());

    for (const round of [1, 2]) {
      const down = await cluster('down');
      assert.equal(down.code, 0, `cluster.sh down (${round}) exits 0`);
    }
    assert.deepEqual(leftovers(before, await snapshot()), []);
  },
);
