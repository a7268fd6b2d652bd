// A published version in a cluster: a FunctionVersion resource, the immutable
// snapshot of a Function's code and configuration under a number (Lambda's
// PublishVersion). The gateway creates it, owned by the Function so it goes with it;
// the operator runs its workers as it runs a Function's; every gateway replica serves
// it back through its watch. `<function>-<number>` names it: a Function's name is a
// DNS label and a number has no '-', so the name says which version of which function.
import { parseFunctionSpec, type FunctionDefinition, type FunctionSpec } from './function.ts';
import { canonical } from './canonical.ts';
import { formatErrors, isObject, type Parsed } from './parse.ts';

export const FUNCTION_VERSION_KIND = 'FunctionVersion';

export interface PublishedVersion {
  def: FunctionDefinition & { version: string };
  description: string;
  /** When it was published (the resource's creationTimestamp). */
  created?: string;
}

/**
 * On a Function: the highest version number it has ever had. Lambda never gives a number
 * twice, even after the version is deleted, and a deleted FunctionVersion leaves no trace
 * of its own, so the Function keeps the count (it goes with it: a Function made again
 * starts at 1, as on Lambda).
 */
export const LAST_VERSION_ANNOTATION = 'selfless.dev/last-version';

export function versionObjectName(functionName: string, version: string): string {
  return `${functionName}-${version}`;
}

/** What a version keeps of $LATEST: not the function-level settings (Lambda's snapshot). */
export function snapshotSpec(spec: FunctionSpec): FunctionSpec {
  const copy: FunctionSpec = { ...spec, provisionedConcurrentExecutions: 0, triggers: [] };
  delete copy.reservedConcurrentExecutions;
  delete copy.aliases;
  delete copy.provisionedConcurrencyConfigs;
  delete copy.publish;
  delete copy.functionUrl;
  return copy;
}

/** Whether `spec` has the code and configuration the version `published` was made of. */
export function sameSnapshot(spec: FunctionSpec, published: FunctionSpec): boolean {
  return canonical(snapshotSpec(spec)) === canonical(snapshotSpec(published));
}

/** The resource's spec for version `def.version` of `def`. */
export function versionResourceSpec(
  def: FunctionDefinition & { version: string },
  description: string,
): Record<string, unknown> {
  return {
    functionName: def.name,
    version: def.version,
    description,
    definition: snapshotSpec(def.spec),
  };
}

export function parseFunctionVersion(obj: unknown): Parsed<PublishedVersion> {
  const fail = (message: string): Parsed<PublishedVersion> => ({
    ok: false,
    errors: [{ field: 'spec', message }],
  });
  if (!isObject(obj) || !isObject(obj.spec) || !isObject(obj.metadata)) {
    return fail('must be a FunctionVersion with metadata and spec');
  }
  const { functionName, version, description, definition } = obj.spec;
  if (typeof functionName !== 'string' || typeof version !== 'string' || !/^\d+$/.test(version)) {
    return fail('functionName and a numeric version are required');
  }
  const spec = parseFunctionSpec(definition);
  if (!spec.ok) return fail(`definition: ${formatErrors(spec.errors)}`);
  const namespace = typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : 'default';
  return {
    ok: true,
    value: {
      def: {
        name: functionName,
        namespace,
        spec: snapshotSpec(spec.value),
        version,
        ...(typeof description === 'string' && description !== '' && { description }),
      },
      description: typeof description === 'string' ? description : '',
      ...(typeof obj.metadata.creationTimestamp === 'string' && {
        created: obj.metadata.creationTimestamp,
      }),
    },
  };
}
