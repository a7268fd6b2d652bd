// What an environment uses: the peak resident memory of the runtime's process tree
// and the bytes in its /tmp. Read from /proc and the file system, cheaply enough to
// run after every invocation (two small reads for a one-process runtime).
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Peak RSS in KiB of `pid` and its descendants: the kernel keeps each process's
 * high-water mark (VmHWM), so short spikes between two samples are not missed.
 * Summing per-process peaks can only over-estimate a tree's peak, never hide one.
 */
export function peakRssKiB(pid: number): number {
  let total = 0;
  const seen = new Set<number>();
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    total += statusField(p, 'VmHWM');
    for (const child of children(p)) stack.push(child);
  }
  return total;
}

/** Current RSS in KiB of `pid` and its descendants. */
export function rssKiB(pid: number): number {
  let total = 0;
  const stack = [pid];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    total += statusField(p, 'VmRSS');
    for (const child of children(p)) stack.push(child);
  }
  return total;
}

function statusField(pid: number, field: string): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0;
  }
  const at = text.indexOf(`${field}:`);
  if (at < 0) return 0;
  return parseInt(text.slice(at + field.length + 1), 10) || 0;
}

// Children forked by the main thread, where Node.js and CPython start processes;
// reading every thread's list would cost a read per thread on every invocation.
function children(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(' ').map(Number) : [];
  } catch {
    return [];
  }
}

/** Bytes of regular files under `dir` (symbolic links are not followed). */
export function directoryBytes(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += directoryBytes(path);
    else if (e.isFile()) {
      try {
        total += lstatSync(path).size;
      } catch {
        // Deleted while we counted.
      }
    }
  }
  return total;
}
