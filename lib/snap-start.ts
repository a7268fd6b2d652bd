// SnapStart (Lambda's snapshot-restore): `snapStart: { applyOn }` on a Function. With
// PublishedVersions, a published version is initialised once and each new environment
// of it starts from that initialised state instead of a cold init. Which runtimes take
// the setting follows Lambda (Java 11+, Python 3.12+, .NET 8+; of ours: java*, python*);
// which of them Selfless actually restores is narrower (`restores`): Python, by forking
// an initialised interpreter (lib/agent/snapshot.ts).
import { isObject, type Checker } from './parse.ts';
import { runtimeFamily, type Runtime } from './runtimes.ts';

export const SNAP_START_APPLY_ON = ['PublishedVersions', 'None'] as const;
export type SnapStartApplyOn = (typeof SNAP_START_APPLY_ON)[number];

export interface SnapStart {
  applyOn: SnapStartApplyOn;
}

/** Lambda's ephemeral storage ceiling for a SnapStart function, MB. */
export const SNAP_START_MAX_EPHEMERAL_MB = 512;

/** Runtimes Lambda accepts SnapStart on (of those Selfless has). */
export function supportsSnapStart(runtime: Runtime): boolean {
  const family = runtimeFamily(runtime);
  return family === 'java' || family === 'python';
}

/** Whether Selfless restores environments of this runtime from a snapshot (else it inits cold). */
export function restores(runtime: Runtime): boolean {
  return runtimeFamily(runtime) === 'python';
}

/**
 * Whether environments of `fn` start from a snapshot: a published version of a
 * function with applyOn PublishedVersions, on a runtime Selfless restores.
 * Lambda's OptimizationStatus On.
 */
export function snapStartOn(fn: {
  version?: string;
  spec: { runtime: Runtime; snapStart?: SnapStart };
}): boolean {
  return (
    fn.version !== undefined &&
    fn.spec.snapStart?.applyOn === 'PublishedVersions' &&
    restores(fn.spec.runtime)
  );
}

/**
 * Why Lambda refuses SnapStart with this configuration, in its words; undefined when
 * it accepts it. Only applyOn PublishedVersions is checked: None is always accepted.
 */
export function snapStartRefusal(
  snapStart: SnapStart | undefined,
  runtime: Runtime,
  ephemeralMB: number,
): string | undefined {
  if (snapStart?.applyOn !== 'PublishedVersions') return undefined;
  if (!supportsSnapStart(runtime))
    return `${runtime} is not supported for SnapStart enabled functions.`;
  if (ephemeralMB > SNAP_START_MAX_EPHEMERAL_MB)
    return `Ephemeral storage greater than ${SNAP_START_MAX_EPHEMERAL_MB} MB is not supported for SnapStart enabled functions.`;
  return undefined;
}

/** The `spec.snapStart` of a manifest or resource. */
export function parseSnapStart(input: unknown, c: Checker): SnapStart | undefined {
  if (input === undefined || input === null) return undefined;
  if (!isObject(input) || !SNAP_START_APPLY_ON.includes(input.applyOn as SnapStartApplyOn)) {
    c.fail(
      'spec.snapStart.applyOn',
      `must be ${SNAP_START_APPLY_ON.join(' or ')}, got ${JSON.stringify(isObject(input) ? input.applyOn : input)}`,
    );
    return undefined;
  }
  return { applyOn: input.applyOn as SnapStartApplyOn };
}
