// A zip from the content store (lib/content-ref.ts) in a worker pod: its chunk
// ConfigMaps projected in order into one read-only volume (files 0, 1, ...), which the
// init container joins and checks against the SHA-256 before extracting it
// (selfless agent extract-zip --sha256). The chunks are immutable ConfigMaps, so the
// kubelet reads each once and does not watch them.
import type * as k8s from '@kubernetes/client-node';
import { CHUNK_KEY, chunkNames, type ContentRef } from '../../lib/content-ref.ts';

export function contentVolume(name: string, ref: ContentRef): k8s.V1Volume {
  return {
    name,
    projected: {
      sources: chunkNames(ref).map((chunk, i) => ({
        configMap: { name: chunk, items: [{ key: CHUNK_KEY, path: String(i) }] },
      })),
    },
  };
}

/** extract-zip's arguments for the chunks of `ref` mounted at `dir`, into `target`. */
export function extractChunksArgs(ref: ContentRef, dir: string, target: string): string[] {
  return [
    'agent',
    'extract-zip',
    '--sha256',
    ref.sha256,
    ...Array.from({ length: ref.chunks }, (_, i) => `${dir}/${i}`),
    target,
  ];
}

/** The first chunk of `ref` that `exists` does not know, if any. */
export function missingChunk(
  ref: ContentRef,
  exists: (name: string) => boolean,
): string | undefined {
  return chunkNames(ref).find((n) => !exists(n));
}
