// Renders the CRDs of crds/schema.ts as the YAML files checked in beside it,
// formatted as prettier formats them so `prettier --check` and the drift test agree.
import { format, resolveConfig } from 'prettier';
import { stringify } from 'yaml';
import { CRDS } from './schema.ts';

const HEADER = '# Generated from crds/schema.ts by `npm run gen:crds`. Do not edit by hand.\n';

export async function renderCrds(): Promise<Record<string, string>> {
  const config = (await resolveConfig(import.meta.filename)) ?? {};
  const out: Record<string, string> = {};
  for (const [file, crd] of Object.entries(CRDS)) {
    out[file] = await format(HEADER + stringify(crd, { lineWidth: 0, version: '1.1' }), {
      ...config,
      parser: 'yaml',
    });
  }
  return out;
}
