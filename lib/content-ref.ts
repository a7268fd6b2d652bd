// Zips larger than a resource can hold (Lambda takes 50 MB zipped, 250 MB unzipped;
// a custom resource holds about 1 MB of base64) live in a content-addressed store of
// ConfigMaps: the zip cut into chunks under 1 MiB each, each ConfigMap named by the
// zip's SHA-256 and its index, immutable. A Function's spec.code.contentRef, a
// FunctionVersion's definition and a LayerVersion's spec.content.contentRef name the
// zip; the same zip is the same objects, whoever writes it. The worker pod gets the
// chunks as a projected volume and its init container reassembles and checks them
// (selfless agent extract-zip --sha256). The operator deletes the chunks no resource
// names any more (operator/content-gc.ts).
import { isObject } from './parse.ts';

export interface ContentRef {
  /** Hex SHA-256 of the whole zip: the objects' names carry it. */
  sha256: string;
  /** Bytes of the zip. */
  size: number;
  /** How many chunks the zip was cut into (chunkCount(size)). */
  chunks: number;
  /** Bytes of the zip's files, for the 250 MB check of code plus layers. */
  unzippedSize?: number;
}

/** Raw bytes per chunk: base64 in the request stays well under the 1.5 MB etcd value. */
export const CHUNK_BYTES = 768 * 1024;
/** Base64 characters of a zip the resource keeps inline (today's path, below the limit). */
export const INLINE_ZIP_LIMIT = 1024 * 1024;
/** Lambda's unzipped limit bounds any zip too. */
export const CONTENT_MAX_BYTES = 262_144_000;

export const CONTENT_LABEL = 'selfless.dev/content';
export const CONTENT_SELECTOR = `${CONTENT_LABEL}=chunk`;
export const SHA256_ANNOTATION = 'selfless.dev/sha256';
/**
 * When a writer last wrote or reused the chunk: the collector spares younger ones, as
 * their resource may not be written yet.
 */
export const WRITTEN_ANNOTATION = 'selfless.dev/written-at';
/** The one binaryData key of a chunk. */
export const CHUNK_KEY = 'chunk';

export const chunkCount = (size: number): number => Math.max(1, Math.ceil(size / CHUNK_BYTES));

export const chunkName = (sha256: string, index: number): string =>
  `selfless-content-${sha256}-${index}`;

export const chunkNames = (ref: Pick<ContentRef, 'sha256' | 'chunks'>): string[] =>
  Array.from({ length: ref.chunks }, (_, i) => chunkName(ref.sha256, i));

/** The chunks of `zip`, in order. */
export function splitChunks(zip: Buffer): Buffer[] {
  return Array.from({ length: chunkCount(zip.length) }, (_, i) =>
    zip.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
  );
}

/** CodeSha256 as Lambda reports it: base64 of the digest. */
export const codeSha256Of = (ref: ContentRef): string =>
  Buffer.from(ref.sha256, 'hex').toString('base64');

/** `fail` receives the field (relative to the ref) and what is wrong with it. */
export function parseContentRef(
  raw: unknown,
  fail: (field: string, problem: string) => void,
): ContentRef | undefined {
  if (!isObject(raw)) {
    fail('', 'must be an object with sha256, size and chunks');
    return undefined;
  }
  const { sha256, size, chunks, unzippedSize } = raw;
  let ok = true;
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    fail('.sha256', "must be the zip's SHA-256 in 64 lowercase hex digits");
    ok = false;
  }
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > CONTENT_MAX_BYTES) {
    fail('.size', `must be the zip's size in bytes, 1-${CONTENT_MAX_BYTES}`);
    ok = false;
  } else if (chunks !== chunkCount(size)) {
    fail('.chunks', `must be ${chunkCount(size)} for ${size} bytes (chunks of ${CHUNK_BYTES})`);
    ok = false;
  }
  if (
    unzippedSize !== undefined &&
    (typeof unzippedSize !== 'number' || !Number.isInteger(unzippedSize) || unzippedSize < 0)
  ) {
    fail('.unzippedSize', 'must be a number of bytes');
    ok = false;
  }
  if (!ok) return undefined;
  return {
    sha256: sha256 as string,
    size: size as number,
    chunks: chunks as number,
    ...(unzippedSize !== undefined && { unzippedSize: unzippedSize as number }),
  };
}

/** The hashes a Function, FunctionVersion or LayerVersion object names. */
export function contentRefsOf(obj: unknown): string[] {
  if (!isObject(obj) || !isObject(obj.spec)) return [];
  const s = obj.spec;
  const found: unknown[] = [];
  if (isObject(s.code)) found.push(s.code.contentRef);
  if (isObject(s.definition) && isObject(s.definition.code))
    found.push(s.definition.code.contentRef);
  if (isObject(s.content)) found.push(s.content.contentRef);
  return found.flatMap((r) => (isObject(r) && typeof r.sha256 === 'string' ? [r.sha256] : []));
}
