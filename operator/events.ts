// Kubernetes Events on transitions (kubectl describe shows them). Events are a
// courtesy: failing to record one never fails a reconcile.
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../lib/log.ts';

export interface Involved {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string };
}

export type RecordEvent = (
  obj: Involved,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
) => void;

export function makeEventRecorder(kc: k8s.KubeConfig, component: string, log: Logger): RecordEvent {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return (obj, type, reason, message) => {
    const now = new Date();
    const ns = obj.metadata.namespace;
    core
      .createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: {
            name: `${obj.metadata.name}.${randomBytes(8).toString('hex')}`,
            namespace: ns,
          },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name,
            namespace: ns,
            uid: obj.metadata.uid,
            resourceVersion: obj.metadata.resourceVersion,
          },
          type,
          reason,
          message,
          source: { component },
          reportingComponent: component,
          reportingInstance: component,
          firstTimestamp: now,
          lastTimestamp: now,
          eventTime: new k8s.V1MicroTime(now.getTime()),
          action: reason,
          count: 1,
        },
      })
      .catch((err: unknown) => log.warn('event not recorded', { reason, error: String(err) }));
  };
}

export function involvedOf(
  kind: 'Function' | 'FunctionVersion' | 'Table',
  apiVersion: string,
  obj: { metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string } },
): Involved {
  const m = obj.metadata ?? {};
  return {
    apiVersion,
    kind,
    metadata: {
      name: m.name!,
      namespace: m.namespace!,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
    },
  };
}
