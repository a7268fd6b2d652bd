// What `bash test/services/cluster.sh down` must leave behind: nothing. A snapshot of
// the host's processes, mounts, iptables, ipsets, links and network namespaces, and the
// difference between two snapshots restricted to what the cluster makes, so a test can
// take one before `up` and compare after `down` (whatever the host had before is not
// the cluster's to remove).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from './process.ts';

const run = promisify(execFile);

export const clusterStateDir =
  process.env.SELFLESS_CLUSTER_STATE ?? join(cacheDir, 'cluster', 'state');

export interface HostSnapshot {
  processes: string[];
  mounts: string[];
  iptables: string[];
  ipsets: string[];
  links: string[];
  netns: string[];
  stateDir: boolean;
}

async function lines(cmd: string, args: string[]): Promise<string[]> {
  try {
    const { stdout } = await run(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout.split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Processes that belong to the cluster: in a pod's cgroup, or started with its state. */
function clusterProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (cmd.includes(clusterStateDir) || /kubepods/.test(cgroup)) found.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

export async function snapshot(): Promise<HostSnapshot> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter(Boolean);
  const iptables = [...(await lines('iptables-save', [])), ...(await lines('ip6tables-save', []))]
    // counters and the dump's own comments change from one dump to the next
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''));
  return {
    processes: clusterProcesses(),
    mounts,
    iptables,
    ipsets: await lines('ipset', ['list', '-n']),
    // "12: veth1234@if2: <...> ... master cni0 ..." -> "veth1234@if2 master cni0"
    links: (await lines('ip', ['-o', 'link', 'show'])).map((l) => {
      const name = l.replace(/^\d+: /, '').split(':')[0]!;
      const master = / master (\S+)/.exec(l)?.[1];
      return master ? `${name} master ${master}` : name;
    }),
    netns: existsSync('/run/netns') ? readdirSync('/run/netns') : [],
    stateDir: existsSync(clusterStateDir),
  };
}

const ours = {
  mount: (m: string) =>
    m.startsWith(`${clusterStateDir}/`) ||
    m === '/run/netns' ||
    m.startsWith('/run/netns/cni-') ||
    /io\.containerd/.test(m),
  rule: (r: string) => /KUBE-|CNI-|kube-router|10\.244\.|cni0/.test(r),
  ipset: (s: string) => /^(KUBE-|kube-router)/.test(s),
  link: (l: string) => /^cni0|master cni0|^veth/.test(l),
  netns: (n: string) => n.startsWith('cni-'),
};

/** What `after` holds that the cluster made and `before` did not have. Empty: clean. */
export function leftovers(before: HostSnapshot, after: HostSnapshot): string[] {
  const added = (a: string[], b: string[]) => {
    const had = new Set(b);
    return a.filter((x) => !had.has(x));
  };
  const out: string[] = [];
  for (const p of after.processes) out.push(`process: ${p}`);
  for (const m of added(after.mounts, before.mounts).filter(ours.mount)) out.push(`mount: ${m}`);
  for (const r of added(after.iptables, before.iptables).filter(ours.rule))
    out.push(`iptables: ${r}`);
  for (const s of added(after.ipsets, before.ipsets).filter(ours.ipset)) out.push(`ipset: ${s}`);
  for (const l of added(after.links, before.links).filter(ours.link)) out.push(`link: ${l}`);
  for (const n of added(after.netns, before.netns).filter(ours.netns)) out.push(`netns: ${n}`);
  if (after.stateDir) out.push(`state directory: ${clusterStateDir}`);
  return out;
}
