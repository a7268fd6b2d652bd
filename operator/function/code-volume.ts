// How a function's code reaches /var/task in its worker pod: inline files projected
// from our ConfigMap, a referenced ConfigMap mounted as it is, or a zip extracted by an
// init container into an emptyDir. Image functions carry their code in the image.
import type * as k8s from '@kubernetes/client-node';
import { configMapName } from '../labels.ts';
import { configMapKey } from './config-maps.ts';
import { HARDENED } from './containers.ts';
import { TASK_ROOT, type FunctionObject, type WorkerConfig } from './function-object.ts';

const ZIP_DIR = '/opt/selfless/zip';
const EXTRACT_SCRIPT = '/opt/selfless/runtime-images/images/extract-zip.mjs';
/** Lambda's limit on unzipped code. */
const UNZIPPED_MAX_MB = 250;

export interface CodeVolume {
  volumes: k8s.V1Volume[];
  /** Where the worker container sees the code: read-only, at LAMBDA_TASK_ROOT. */
  mounts: k8s.V1VolumeMount[];
  initContainers: k8s.V1Container[];
}

export function codeVolume(fn: FunctionObject, cfg: WorkerConfig): CodeVolume {
  const { spec, name } = fn.def;
  const { code } = spec;
  const mounts: k8s.V1VolumeMount[] = [{ name: 'code', mountPath: TASK_ROOT, readOnly: true }];
  if (code.inline) {
    const items = Object.keys(code.inline)
      .sort()
      .map((f) => ({ key: configMapKey(f), path: f }));
    return {
      volumes: [{ name: 'code', configMap: { name: configMapName(name), items } }],
      mounts,
      initContainers: [],
    };
  }
  if (code.configMapRef) {
    return {
      volumes: [{ name: 'code', configMap: { name: code.configMapRef.name } }],
      mounts,
      initContainers: [],
    };
  }
  if (code.zipFile) {
    return {
      volumes: [
        { name: 'zip', configMap: { name: configMapName(name) } },
        { name: 'code', emptyDir: { sizeLimit: `${UNZIPPED_MAX_MB}Mi` } },
      ],
      mounts,
      initContainers: [
        {
          name: 'extract-code',
          image: cfg.runtimeImages[spec.runtime]!,
          command: ['node', EXTRACT_SCRIPT, `${ZIP_DIR}/code.zip`, TASK_ROOT],
          volumeMounts: [
            { name: 'zip', mountPath: ZIP_DIR, readOnly: true },
            { name: 'code', mountPath: TASK_ROOT },
          ],
          resources: {
            requests: { cpu: '50m', memory: '64Mi' },
            limits: { cpu: '500m', memory: '256Mi' },
          },
          securityContext: HARDENED,
        },
      ],
    };
  }
  return { volumes: [], mounts: [], initContainers: [] };
}
