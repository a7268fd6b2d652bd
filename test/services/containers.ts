// Real services in containers, for machines with a container runtime.
// Images are pinned; ScyllaDB is the production CQL database, so it is used here.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Started } from './local.ts';

export const IMAGES = {
  redis: 'redis:7.4.2',
  scylla: 'scylladb/scylla:6.2.3',
  k3s: 'rancher/k3s:v1.34.4-k3s1',
};

/** True when Testcontainers finds a container runtime (Docker, Podman...). */
export async function containerRuntimeAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startRedisContainer(): Promise<Started<string>> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const c = await new RedisContainer(IMAGES.redis)
    .withCommand(['redis-server', '--appendonly', 'yes', '--save', ''])
    .start();
  return { endpoint: c.getConnectionUrl(), stop: async () => void (await c.stop()) };
}

export async function startScyllaContainer(): Promise<Started<string>> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const c = await new GenericContainer(IMAGES.scylla)
    .withCommand([
      '--smp',
      '1',
      '--memory',
      '750M',
      '--overprovisioned',
      '1',
      '--developer-mode',
      '1',
    ])
    .withExposedPorts(9042)
    .withWaitStrategy(Wait.forLogMessage(/Starting listening for CQL clients/))
    .withStartupTimeout(180_000)
    .start();
  return {
    endpoint: `${c.getHost()}:${c.getMappedPort(9042)}`,
    stop: async () => void (await c.stop()),
  };
}

export async function startK3sContainer(): Promise<Started<string>> {
  const { K3sContainer } = await import('@testcontainers/k3s');
  const c = await new K3sContainer(IMAGES.k3s).start();
  const dir = mkdtempSync(join(tmpdir(), 'selfless-k3s-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, c.getKubeConfig());
  return {
    endpoint: kubeconfig,
    stop: async () => {
      await c.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
