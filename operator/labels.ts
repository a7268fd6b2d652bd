// Labels and names shared by the operator's children, so builders, watches and
// tests select the same objects.
export const MANAGED_BY = 'selfless-operator';
export const FUNCTION_LABEL = 'selfless.dev/function';
export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
export const FIELD_MANAGER = 'selfless-operator';

export const deploymentName = (fn: string) => `fn-${fn}`;
export const configMapName = (fn: string) => `fn-${fn}-code`;
export const configName = (fn: string) => `fn-${fn}-config`;
export const tokenSecretName = (fn: string) => `fn-${fn}-token`;
export const egressPolicyName = (fn: string) => `fn-${fn}-egress`;
