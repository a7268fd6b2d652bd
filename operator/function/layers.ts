// A function's layers in its worker pods: the zips of the LayerVersions its spec
// lists, copied into one ConfigMap beside it (a pod mounts only its own namespace's
// ConfigMaps, and a LayerVersion is not one), extracted in the function's order into
// an emptyDir at /opt by init containers, later layers overwriting earlier files as
// Lambda builds /opt. A layer too big for its resource is in the content store: its
// chunks are in the function's namespace already, so the pod projects them instead
// (content-volume.ts). The worker sees /opt read-only; the runtimes' module paths
// (lib/agent/runtime-process.ts) point into it.
import type * as k8s from '@kubernetes/client-node';
import type { ContentRef } from '../../lib/content-ref.ts';
import { UNZIPPED_MAX_MB } from '../../lib/zip.ts';
import { layersConfigMapName } from '../labels.ts';
import { HARDENED } from './containers.ts';
import { contentVolume, extractChunksArgs } from './content-volume.ts';
import { childMeta, type FunctionObject, type WorkerConfig } from './function-object.ts';

export const OPT_DIR = '/opt';
const LAYER_ZIPS = '/var/selfless/layers';

/** A layer's zip: base64 in its resource, or in the content store. */
export type LayerContent = { zipFile: string } | { contentRef: ContentRef };

/**
 * The zips kept in their resources, in the function's order (key i.zip for layer i);
 * undefined when there is none.
 */
export function makeLayersConfigMap(
  fn: FunctionObject,
  layers: LayerContent[],
): k8s.V1ConfigMap | undefined {
  const inline = layers.flatMap((l, i) =>
    'zipFile' in l ? [[`${i}.zip`, l.zipFile] as const] : [],
  );
  if (inline.length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(fn, layersConfigMapName(fn.def)),
    binaryData: Object.fromEntries(inline),
  };
}

export interface LayersVolume {
  volumes: k8s.V1Volume[];
  mounts: k8s.V1VolumeMount[];
  initContainers: k8s.V1Container[];
}

/**
 * `count` layers extracted into /opt, `chunked[i]` the content-store zip of layer i when
 * it is one; `tmp`: the one place the extraction may write besides.
 */
export function layersVolume(
  fn: FunctionObject,
  cfg: WorkerConfig,
  layers: { count: number; chunked?: (ContentRef | null)[] },
  tmp: k8s.V1VolumeMount,
): LayersVolume {
  const { count } = layers;
  if (count === 0) return { volumes: [], mounts: [], initContainers: [] };
  const image = cfg.runtimeImages[fn.def.spec.runtime]!;
  const chunked = Array.from({ length: count }, (_, i) => layers.chunked?.[i] ?? undefined);
  const volumes: k8s.V1Volume[] = [];
  if (chunked.some((r) => r === undefined))
    volumes.push({ name: 'layer-zips', configMap: { name: layersConfigMapName(fn.def) } });
  volumes.push({ name: 'opt', emptyDir: { sizeLimit: `${UNZIPPED_MAX_MB}Mi` } });
  chunked.forEach((ref, i) => {
    if (ref) volumes.push(contentVolume(`layer-${i}-chunks`, ref));
  });
  return {
    volumes,
    mounts: [{ name: 'opt', mountPath: OPT_DIR, readOnly: true }],
    initContainers: chunked.map((ref, i) => {
      const dir = ref ? `${LAYER_ZIPS}/${i}` : LAYER_ZIPS;
      return {
        name: `extract-layer-${i}`,
        image,
        args: ref
          ? extractChunksArgs(ref, dir, OPT_DIR)
          : ['agent', 'extract-zip', `${LAYER_ZIPS}/${i}.zip`, OPT_DIR],
        volumeMounts: [
          { name: ref ? `layer-${i}-chunks` : 'layer-zips', mountPath: dir, readOnly: true },
          { name: 'opt', mountPath: OPT_DIR },
          tmp,
        ],
        resources: {
          requests: { cpu: '50m', memory: '64Mi' },
          // A store zip is joined in memory before it is checked.
          limits: { cpu: '500m', memory: ref ? '768Mi' : '256Mi' },
        },
        securityContext: HARDENED,
      };
    }),
  };
}
