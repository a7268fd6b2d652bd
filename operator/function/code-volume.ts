// How a function's code reaches /var/task in its worker pod: inline files projected
// from our ConfigMap, a referenced ConfigMap mounted as it is, or a zip extracted by an
// init container into an emptyDir (`selfless agent extract-zip`, lib/zip.ts, the
// extraction the process driver uses), from our ConfigMap or, for a zip too big for the
// resource, from the content store's chunks (content-volume.ts). Image functions carry their code in the image.
// Files get the mode lib/zip.ts gives an entry that stores none: ConfigMaps carry
// no modes, and a `bootstrap` must run wherever the same code runs.
import type * as k8s from '@kubernetes/client-node';
import { DEFAULT_MODE, UNZIPPED_MAX_MB } from '../../lib/zip.ts';
import { configMapName } from '../labels.ts';
import { configMapKey } from './config-maps.ts';
import { contentVolume, extractChunksArgs } from './content-volume.ts';
import { HARDENED } from './containers.ts';
import { TASK_ROOT, type FunctionObject, type WorkerConfig } from './function-object.ts';

const ZIP_DIR = '/var/selfless/zip';
const CHUNKS_DIR = '/var/selfless/chunks';

export interface CodeVolume {
  volumes: k8s.V1Volume[];
  /** Where the worker container sees the code: read-only, at LAMBDA_TASK_ROOT. */
  mounts: k8s.V1VolumeMount[];
  initContainers: k8s.V1Container[];
}

/** `tmp`: the pod's /tmp, the one place the extracting command may write (tsx's cache). */
export function codeVolume(
  fn: FunctionObject,
  cfg: WorkerConfig,
  tmp: k8s.V1VolumeMount,
): CodeVolume {
  const { spec } = fn.def;
  const { code } = spec;
  const mounts: k8s.V1VolumeMount[] = [{ name: 'code', mountPath: TASK_ROOT, readOnly: true }];
  if (code.inline) {
    const items = Object.keys(code.inline)
      .sort()
      .map((f) => ({ key: configMapKey(f), path: f }));
    return {
      volumes: [
        {
          name: 'code',
          configMap: { name: configMapName(fn.def), items, defaultMode: DEFAULT_MODE },
        },
      ],
      mounts,
      initContainers: [],
    };
  }
  if (code.configMapRef) {
    return {
      volumes: [
        { name: 'code', configMap: { name: code.configMapRef.name, defaultMode: DEFAULT_MODE } },
      ],
      mounts,
      initContainers: [],
    };
  }
  const extraction = (args: string[], source: k8s.V1VolumeMount): k8s.V1Container => ({
    name: 'extract-code',
    image: cfg.runtimeImages[spec.runtime]!,
    // The image's entry point is `selfless`, as for the worker container.
    args,
    volumeMounts: [source, { name: 'code', mountPath: TASK_ROOT }, tmp],
    resources: {
      requests: { cpu: '50m', memory: '64Mi' },
      // A store zip is joined in memory (up to 250 MB) before it is checked.
      limits: { cpu: '500m', memory: code.contentRef ? '768Mi' : '256Mi' },
    },
    securityContext: HARDENED,
  });
  const codeDir: k8s.V1Volume = { name: 'code', emptyDir: { sizeLimit: `${UNZIPPED_MAX_MB}Mi` } };
  if (code.contentRef) {
    return {
      volumes: [contentVolume('zip', code.contentRef), codeDir],
      mounts,
      initContainers: [
        extraction(extractChunksArgs(code.contentRef, CHUNKS_DIR, TASK_ROOT), {
          name: 'zip',
          mountPath: CHUNKS_DIR,
          readOnly: true,
        }),
      ],
    };
  }
  if (code.zipFile) {
    return {
      volumes: [{ name: 'zip', configMap: { name: configMapName(fn.def) } }, codeDir],
      mounts,
      initContainers: [
        extraction(['agent', 'extract-zip', `${ZIP_DIR}/code.zip`, TASK_ROOT], {
          name: 'zip',
          mountPath: ZIP_DIR,
          readOnly: true,
        }),
      ],
    };
  }
  return { volumes: [], mounts: [], initContainers: [] };
}
