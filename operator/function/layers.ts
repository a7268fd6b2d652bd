// A function's layers in its worker pods: the zips of the LayerVersions its spec
// lists, copied into one ConfigMap beside it (a pod mounts only its own namespace's
// ConfigMaps, and a LayerVersion is not one), extracted in the function's order into
// an emptyDir at /opt by init containers, later layers overwriting earlier files as
// Lambda builds /opt. The worker sees /opt read-only; the runtimes' module paths
// (lib/agent/runtime-process.ts) point into it.
import type * as k8s from '@kubernetes/client-node';
import { UNZIPPED_MAX_MB } from '../../lib/zip.ts';
import { layersConfigMapName } from '../labels.ts';
import { HARDENED } from './containers.ts';
import { childMeta, type FunctionObject, type WorkerConfig } from './function-object.ts';

export const OPT_DIR = '/opt';
const LAYER_ZIPS = '/var/selfless/layers';

/** `zips`: base64 zips in the function's order; undefined when it has no layers. */
export function makeLayersConfigMap(
  fn: FunctionObject,
  zips: string[],
): k8s.V1ConfigMap | undefined {
  if (zips.length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(fn, layersConfigMapName(fn.def)),
    binaryData: Object.fromEntries(zips.map((z, i) => [`${i}.zip`, z])),
  };
}

export interface LayersVolume {
  volumes: k8s.V1Volume[];
  mounts: k8s.V1VolumeMount[];
  initContainers: k8s.V1Container[];
}

/** `count` layers extracted into /opt; `tmp`: the one place the extraction may write besides. */
export function layersVolume(
  fn: FunctionObject,
  cfg: WorkerConfig,
  count: number,
  tmp: k8s.V1VolumeMount,
): LayersVolume {
  if (count === 0) return { volumes: [], mounts: [], initContainers: [] };
  const image = cfg.runtimeImages[fn.def.spec.runtime]!;
  return {
    volumes: [
      { name: 'layer-zips', configMap: { name: layersConfigMapName(fn.def) } },
      { name: 'opt', emptyDir: { sizeLimit: `${UNZIPPED_MAX_MB}Mi` } },
    ],
    mounts: [{ name: 'opt', mountPath: OPT_DIR, readOnly: true }],
    initContainers: Array.from({ length: count }, (_, i) => ({
      name: `extract-layer-${i}`,
      image,
      args: ['agent', 'extract-zip', `${LAYER_ZIPS}/${i}.zip`, OPT_DIR],
      volumeMounts: [
        { name: 'layer-zips', mountPath: LAYER_ZIPS, readOnly: true },
        { name: 'opt', mountPath: OPT_DIR },
        tmp,
      ],
      resources: {
        requests: { cpu: '50m', memory: '64Mi' },
        limits: { cpu: '500m', memory: '256Mi' },
      },
      securityContext: HARDENED,
    })),
  };
}
