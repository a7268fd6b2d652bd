// Labels and names shared by the operator's children, so builders, watches and
// tests select the same objects.
export const MANAGED_BY = 'selfless-operator';
export const FUNCTION_LABEL = 'selfless.dev/function';
export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
export const FIELD_MANAGER = 'selfless-operator';

/** On the children of a published version (a FunctionVersion): its number. */
export const VERSION_LABEL = 'selfless.dev/version';

/** A function's $LATEST, or one of its published versions. */
export interface Named {
  name: string;
  version?: string;
}

// A Function's name is a DNS label, so no `fn-<name>` is ever `fnv-...`: a version's
// children cannot take the name of another function's.
const base = (fn: Named) =>
  fn.version === undefined ? `fn-${fn.name}` : `fnv-${fn.name}-${fn.version}`;
export const deploymentName = (fn: Named) => base(fn);
export const configMapName = (fn: Named) => `${base(fn)}-code`;
export const configName = (fn: Named) => `${base(fn)}-config`;
export const tokenSecretName = (fn: Named) => `${base(fn)}-token`;
export const egressPolicyName = (fn: Named) => `${base(fn)}-egress`;
export const layersConfigMapName = (fn: Named) => `${base(fn)}-layers`;
