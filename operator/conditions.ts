// Condition types and reasons, in one place so status, Events and docs agree.
export const READY = 'Ready';

export const Reason = {
  // Function
  WorkersAvailable: 'WorkersAvailable',
  ScaledToZero: 'ScaledToZero',
  WorkersStarting: 'WorkersStarting',
  InvalidSpec: 'InvalidSpec',
  CodeNotFound: 'CodeNotFound',
  LayerNotFound: 'LayerNotFound',
  /** A chunk of a zip in the content store (lib/content-ref.ts) does not exist. */
  ContentNotFound: 'ContentNotFound',
  ResourceConflict: 'ResourceConflict',
  // Table
  TableActive: 'TableActive',
  TableNotActive: 'TableNotActive',
  TableNameConflict: 'TableNameConflict',
  KeySchemaMismatch: 'KeySchemaMismatch',
  DeletionProtected: 'DeletionProtected',
  // Both
  ReconcileError: 'ReconcileError',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/**
 * The conditions with `next` set; lastTransitionTime moves only when the status
 * changes, so a reconcile that finds nothing new writes nothing new.
 */
export function setCondition(
  existing: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now = new Date(),
): Condition[] {
  const old = existing?.find((c) => c.type === next.type);
  const lastTransitionTime =
    old && old.status === next.status
      ? old.lastTransitionTime
      : now.toISOString().replace(/\.\d+Z$/, 'Z');
  return [...(existing ?? []).filter((c) => c.type !== next.type), { ...next, lastTransitionTime }];
}
