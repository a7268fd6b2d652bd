// Extracts a function's zip into its code directory: one helper for the gateway's
// process driver and the worker pod's init container (`selfless agent extract-zip`),
// so a zip behaves the same under `selfless dev` and in a cluster.
//
// File modes follow Lambda, which keeps the Unix permissions stored in the zip (the
// upper half of an entry's external attributes, when the zip was made on Unix). An
// entry that carries none (zips made on Windows, or by tools that leave the
// attributes empty) gets 0755: the executable bit is the one that decides whether a
// `bootstrap` or a bundled binary runs, such a zip has no way to say it, and in a
// read-only code directory marking a data file executable costs nothing. (Lambda
// itself would refuse to run such a bootstrap; the AWS tools rewrite the zip to add
// the bit. Accepting it is kinder and the same everywhere here.)
//
// The central directory is read here rather than through fflate, whose unzip does not
// expose the external attributes; node:zlib inflates.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export class ZipError extends Error {}

/** Lambda's limit on a function's unzipped code. */
export const UNZIPPED_MAX_MB = 250;

/** The mode of an entry that carries no Unix permissions. */
export const DEFAULT_MODE = 0o755;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** "Version made by" hosts whose external attributes hold a Unix mode: Unix, macOS. */
const UNIX_HOSTS = new Set([3, 19]);

export interface ZipEntry {
  name: string;
  kind: 'file' | 'directory' | 'symlink';
  /** Permission bits (0777): stored in the zip, or DEFAULT_MODE when it has none. */
  mode: number;
  /** Uncompressed size as the central directory declares it. */
  size: number;
  /** The entry's bytes (a symlink's: its target). */
  data(): Buffer;
}

/** The entries of a zip, from its central directory. */
export function readZip(zip: Buffer): ZipEntry[] {
  const eocd = findEndOfCentralDirectory(zip);
  let count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || zip.readUInt32LE(locator) !== 0x07064b50)
      throw new ZipError('the zip64 end of central directory is missing');
    const end64 = Number(zip.readBigUInt64LE(locator + 8));
    if (end64 + 56 > zip.length || zip.readUInt32LE(end64) !== 0x06064b50)
      throw new ZipError('the zip64 end of central directory is damaged');
    count = Number(zip.readBigUInt64LE(end64 + 32));
    offset = Number(zip.readBigUInt64LE(end64 + 48));
  }
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== 0x02014b50)
      throw new ZipError('the central directory is damaged');
    const host = zip.readUInt8(offset + 5);
    const flags = zip.readUInt16LE(offset + 8);
    const method = zip.readUInt16LE(offset + 10);
    let compressed = zip.readUInt32LE(offset + 20);
    let size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const attributes = zip.readUInt32LE(offset + 38);
    let local = zip.readUInt32LE(offset + 42);
    const name = decodeName(zip.subarray(offset + 46, offset + 46 + nameLength), flags);
    const extra = zip.subarray(offset + 46 + nameLength, offset + 46 + nameLength + extraLength);
    ({ size, compressed, local } = zip64Sizes(extra, { size, compressed, local }));
    offset += 46 + nameLength + extraLength + commentLength;

    if (flags & 1) throw new ZipError(`${name} is encrypted`);
    if (method !== 0 && method !== 8)
      throw new ZipError(`${name} uses compression method ${method} (only stored and deflate)`);
    const unixMode = UNIX_HOSTS.has(host) ? attributes >>> 16 : 0;
    const type = unixMode & S_IFMT;
    const kind =
      type === S_IFLNK ? 'symlink' : type === S_IFDIR || name.endsWith('/') ? 'directory' : 'file';
    const permissions = unixMode & 0o777;
    entries.push({
      name,
      kind,
      mode: permissions === 0 ? DEFAULT_MODE : permissions,
      size,
      data: () => entryData(zip, name, local, method, compressed, size),
    });
  }
  return entries;
}

/**
 * Extracts `zip` into `dir` (created if missing) and returns how many files it wrote.
 * Refuses, before writing anything, an entry whose path leaves `dir` and code larger
 * than Lambda allows. Symbolic links are made last, so no entry is ever written
 * through one.
 */
export function extractZip(zip: Buffer, dir: string): { files: number } {
  const root = resolve(dir);
  const entries = readZip(zip);
  let total = 0;
  const targets = entries.map((e) => {
    const target = resolve(root, e.name);
    const inside = target.startsWith(root + sep) || (target === root && e.kind === 'directory');
    if (e.name.includes('\0') || !inside)
      throw new ZipError(`${e.name} is outside the code directory`);
    total += e.size;
    return target;
  });
  if (total > UNZIPPED_MAX_MB * 1024 * 1024)
    throw new ZipError(`the unzipped code is over ${UNZIPPED_MAX_MB} MB (${total} bytes)`);
  mkdirSync(root, { recursive: true });
  const directories: [string, number][] = [];
  let files = 0;
  entries.forEach((e, i) => {
    const target = targets[i]!;
    if (e.kind === 'directory') {
      mkdirSync(target, { recursive: true });
      directories.push([target, e.mode]);
    } else if (e.kind === 'file') {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, e.data());
      // Exact bits, whatever the umask.
      chmodSync(target, e.mode);
      files++;
    }
  });
  entries.forEach((e, i) => {
    if (e.kind !== 'symlink') return;
    mkdirSync(dirname(targets[i]!), { recursive: true });
    symlinkSync(e.data().toString('utf8'), targets[i]!);
  });
  // Deepest first, once everything is inside; the owner keeps rwx so whoever
  // extracted the code can also remove it.
  for (const [target, mode] of directories.sort((a, b) => b[0].length - a[0].length))
    chmodSync(target, mode | 0o700);
  return { files };
}

function findEndOfCentralDirectory(zip: Buffer): number {
  const last = zip.length - 22;
  for (let i = last; i >= 0 && i >= last - 0xffff; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) return i;
  }
  throw new ZipError('no end of central directory: not a zip archive');
}

/** Zip64 moves a field that does not fit 32 bits into the extra field (id 1), in this order. */
function zip64Sizes(
  extra: Buffer,
  f: { size: number; compressed: number; local: number },
): { size: number; compressed: number; local: number } {
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === 1) {
      let p = at + 4;
      const next = () => {
        if (p + 8 > at + 4 + length) throw new ZipError('a zip64 extra field is damaged');
        const v = Number(extra.readBigUInt64LE(p));
        p += 8;
        return v;
      };
      return {
        size: f.size === 0xffffffff ? next() : f.size,
        compressed: f.compressed === 0xffffffff ? next() : f.compressed,
        local: f.local === 0xffffffff ? next() : f.local,
      };
    }
    at += 4 + length;
  }
  return f;
}

/** UTF-8 when flagged or valid (Info-ZIP stores raw UTF-8 without the flag), else CP437 read as Latin-1. */
function decodeName(bytes: Buffer, flags: number): string {
  if (flags & 0x800) return bytes.toString('utf8');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function entryData(
  zip: Buffer,
  name: string,
  local: number,
  method: number,
  compressed: number,
  size: number,
): Buffer {
  if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50)
    throw new ZipError(`${name}: its local header is damaged`);
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  if (start + compressed > zip.length) throw new ZipError(`${name} is truncated`);
  const raw = zip.subarray(start, start + compressed);
  let data: Buffer;
  try {
    // The declared size bounds the output: a lying entry cannot inflate without end.
    data = method === 0 ? Buffer.from(raw) : inflateRawSync(raw, { maxOutputLength: size || 1 });
  } catch (err) {
    throw new ZipError(`${name} does not inflate: ${(err as Error).message}`);
  }
  if (data.length !== size)
    throw new ZipError(`${name} holds ${data.length} bytes, not the ${size} it declares`);
  return data;
}
