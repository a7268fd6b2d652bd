// For tests against the real API server of testServices(): install the CRDs (many
// test files share one server, so installation is an idempotent server-side apply),
// make a throw-away namespace, and poll for an expected state.
import * as k8s from '@kubernetes/client-node';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testServices } from '../services/index.ts';
import { kubectlBinary } from '../services/local.ts';
import { CRDS } from '../../crds/schema.ts';

export async function testKubeConfig(): Promise<k8s.KubeConfig> {
  const { kubeconfig } = await testServices();
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

/** Applies the checked-in crds/*.yaml with kubectl, as a user would. */
export async function installCrds(kc: k8s.KubeConfig): Promise<void> {
  const { kubeconfig } = await testServices();
  await promisify(execFile)(kubectlBinary(), [
    '--kubeconfig',
    kubeconfig,
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=selfless-tests',
    '-f',
    join(import.meta.dirname, '..', '..', 'crds'),
  ]);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const crd of Object.values(CRDS)) {
    await eventually(`CRD ${crd.metadata.name} established`, async () => {
      const got = await ext.readCustomResourceDefinition({ name: crd.metadata.name });
      return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }
}

/** A fresh namespace, so tests sharing one API server never see each other's objects. */
export async function makeNamespace(kc: k8s.KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`not in time: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** kubectl apply --server-side --dry-run=server: the API server validates and admits, stores nothing. */
export function dryRunApply(
  kubeconfig: string,
  namespace: string,
  yaml: string,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(kubectlBinary(), [
      '--kubeconfig',
      kubeconfig,
      '-n',
      namespace,
      'apply',
      '--server-side',
      '--dry-run=server',
      '--field-manager=helm-test',
      '-f',
      '-',
    ]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
    child.stdin.end(yaml);
  });
}
