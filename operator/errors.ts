// One line for an error from the API server or anything else: client-node's
// ApiException carries the whole response; logs and status want its message.
import * as k8s from '@kubernetes/client-node';

export function describeError(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    let message = String(err.body);
    try {
      message = (JSON.parse(String(err.body)) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the raw body
    }
    return `HTTP ${err.code}: ${message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** The object changed since it was read: the next pass reads it again. Not worth a warning. */
export function isConflict(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 409;
}
