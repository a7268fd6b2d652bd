// Writing and reading the content store (lib/content-ref.ts): the gateway writes a big
// function zip or layer before the resource naming it, and reads a layer's back for
// GetLayerVersion's Content.Location. Writes are idempotent: a chunk that exists is
// the same bytes (its name is the zip's hash), so a 409 only renews its written-at
// annotation, which tells the collector it is about to be named again.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import {
  CHUNK_KEY,
  CONTENT_LABEL,
  SHA256_ANNOTATION,
  WRITTEN_ANNOTATION,
  chunkCount,
  chunkName,
  chunkNames,
  splitChunks,
  type ContentRef,
} from '../content-ref.ts';

/** Chunks written at once: a 50 MB zip is 67 of them. */
const PARALLEL = 4;

export class ContentMissingError extends Error {}

async function eachLimited<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

export function chunkObject(
  namespace: string,
  sha256: string,
  index: number,
  bytes: Buffer,
  at: Date,
): k8s.V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: chunkName(sha256, index),
      namespace,
      labels: { [CONTENT_LABEL]: 'chunk', 'app.kubernetes.io/part-of': 'selfless' },
      annotations: { [SHA256_ANNOTATION]: sha256, [WRITTEN_ANNOTATION]: at.toISOString() },
    },
    immutable: true,
    binaryData: { [CHUNK_KEY]: bytes.toString('base64') },
  };
}

/** Stores `zip` in `namespace` and returns what a resource names it by. */
export async function putContent(
  core: k8s.CoreV1Api,
  namespace: string,
  zip: Buffer,
  at: Date,
  unzippedSize?: number,
): Promise<ContentRef> {
  const sha256 = createHash('sha256').update(zip).digest('hex');
  const chunks = splitChunks(zip);
  await eachLimited(
    chunks.map((bytes, index) => ({ bytes, index })),
    async ({ bytes, index }) => {
      try {
        await core.createNamespacedConfigMap({
          namespace,
          body: chunkObject(namespace, sha256, index, bytes, at),
        });
      } catch (err) {
        if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
        await core.patchNamespacedConfigMap(
          {
            namespace,
            name: chunkName(sha256, index),
            body: { metadata: { annotations: { [WRITTEN_ANNOTATION]: at.toISOString() } } },
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      }
    },
  );
  return {
    sha256,
    size: zip.length,
    chunks: chunkCount(zip.length),
    ...(unzippedSize !== undefined && { unzippedSize }),
  };
}

/** The zip `ref` names, checked against its hash. */
export async function readContent(
  core: k8s.CoreV1Api,
  namespace: string,
  ref: ContentRef,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const name of chunkNames(ref)) {
    const cm = await core.readNamespacedConfigMap({ namespace, name }).catch((err: unknown) => {
      if (err instanceof k8s.ApiException && err.code === 404)
        throw new ContentMissingError(`content chunk ${namespace}/${name} does not exist`);
      throw err;
    });
    parts.push(Buffer.from(cm.binaryData?.[CHUNK_KEY] ?? '', 'base64'));
  }
  const zip = Buffer.concat(parts);
  const got = createHash('sha256').update(zip).digest('hex');
  if (got !== ref.sha256)
    throw new ContentMissingError(`content ${namespace}/${ref.sha256}: its chunks hash to ${got}`);
  return zip;
}
