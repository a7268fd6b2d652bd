// A function's layers on local disk for the process driver: each version's zip
// extracted in the function's order into one directory, later layers overwriting
// earlier files, as Lambda builds /opt. Locally it is a directory under the
// driver's scratch space, not /opt; the agent puts its paths on the runtime's.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { CodeError, writeCode } from '../../lib/code.ts';
import type { FunctionDefinition } from '../../lib/function.ts';
import { parseLayerVersionArn } from '../../lib/layer-version.ts';
import type { LayerStore } from './store.ts';

export type LayerSource = Pick<LayerStore, 'content'>;

export function materializeLayers(
  fn: FunctionDefinition,
  layers: LayerSource | undefined,
  scratch: string,
): string {
  const dir = mkdtempSync(join(scratch, `selfless-opt-${fn.name}-`));
  for (const arn of fn.spec.layers ?? []) {
    const ref = parseLayerVersionArn(arn);
    const zip = ref && layers?.content(ref.name, ref.version);
    if (!zip) throw new CodeError(`spec.layers: layer version ${arn} does not exist`);
    writeCode({ zipFile: zip.toString('base64') }, dir);
  }
  return dir;
}
