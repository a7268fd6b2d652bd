// Parallel scan segments. Every engine scans in the order of a 32-bit hash of the
// partition key (then key bytes), so segment s of n is the hash range
// [s·2^32/n, (s+1)·2^32/n): segments are disjoint and together cover the table.

/** FNV-1a, 32 bits: cheap, stable across processes and engines. */
export function partitionHash(bytes: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function segmentRange(segment: number, total: number): { from: number; to: number } {
  const span = 2 ** 32;
  return {
    from: Math.floor((segment * span) / total),
    to: Math.floor(((segment + 1) * span) / total),
  };
}
