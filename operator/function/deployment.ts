// The worker Deployment of a Function: its pod puts the code in place (code-volume.ts)
// and runs the containers (containers.ts) with a hardened pod security context. A
// change of code or configuration changes a hash on the pod template, so the
// Deployment rolls.
import type * as k8s from '@kubernetes/client-node';
import { FUNCTION_LABEL, VERSION_LABEL, configName, deploymentName } from '../labels.ts';
import { codeVolume } from './code-volume.ts';
import { layersVolume } from './layers.ts';
import { CONFIG_HASH } from './specialized.ts';
import { contentHash, makeAgentConfig } from './config-maps.ts';
import { HARDENED_POD, agentSidecar, functionContainer, workerContainer } from './containers.ts';
import {
  CONFIG_DIR,
  TMP_DIR,
  childMeta,
  labels,
  type FunctionObject,
  type WorkerConfig,
} from './function-object.ts';

export function makeDeployment(fn: FunctionObject, cfg: WorkerConfig): k8s.V1Deployment {
  const { spec, name } = fn.def;
  const tmp: k8s.V1VolumeMount = { name: 'tmp', mountPath: TMP_DIR };
  const config: k8s.V1VolumeMount = { name: 'config', mountPath: CONFIG_DIR, readOnly: true };
  const code = codeVolume(fn, cfg, tmp);
  const volumes: k8s.V1Volume[] = [
    { name: 'tmp', emptyDir: { sizeLimit: `${spec.ephemeralStorage.size}Mi` } },
    { name: 'config', configMap: { name: configName(fn.def) } },
    ...code.volumes,
  ];
  const layers = layersVolume(fn, cfg, cfg.layers ?? { count: 0 }, tmp);
  volumes.push(...layers.volumes);
  const initContainers = [...code.initContainers, ...layers.initContainers];
  const containers: k8s.V1Container[] = [];
  if (spec.code.imageURI) {
    initContainers.push(agentSidecar(fn, cfg, [tmp, config]));
    containers.push(functionContainer(fn, cfg, [tmp]));
  } else {
    containers.push(workerContainer(fn, cfg, [tmp, config, ...code.mounts, ...layers.mounts]));
  }

  // Pods read code and configuration once at start: a change must roll them.
  const annotations: Record<string, string> = {
    [CONFIG_HASH]: contentHash(makeAgentConfig(fn)),
  };
  if (cfg.codeHash) annotations['selfless.dev/code-hash'] = cfg.codeHash;
  if (cfg.layers) annotations['selfless.dev/layers-hash'] = cfg.layers.hash;
  const podSpec: k8s.V1PodSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    // An invocation in flight may finish: the agent stops taking work on SIGTERM.
    terminationGracePeriodSeconds: spec.timeout + 5,
    securityContext: HARDENED_POD,
    containers,
    volumes,
  };
  if (initContainers.length > 0) podSpec.initContainers = initContainers;

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMeta(fn, deploymentName(fn.def)),
    spec: {
      replicas: cfg.replicas,
      selector: {
        matchLabels: {
          [FUNCTION_LABEL]: name,
          ...(fn.def.version !== undefined && { [VERSION_LABEL]: fn.def.version }),
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: { labels: labels(name, fn.def.version), annotations },
        spec: podSpec,
      },
    },
  };
}
