// The Secret beside a Function's workers holding the gateway's worker-channel token,
// so the agents' pods reference it rather than carry it in their spec.
import type * as k8s from '@kubernetes/client-node';
import { tokenSecretName } from '../labels.ts';
import { childMeta, type FunctionObject } from './function-object.ts';

export function makeTokenSecret(fn: FunctionObject, token: string): k8s.V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: childMeta(fn, tokenSecretName(fn.def)),
    type: 'Opaque',
    stringData: { token },
  };
}
