// Reads the manifests of a folder as `kubectl apply -f <dir>` would: every .yaml /
// .yml / .json file, every document in it. Functions and Tables are parsed with
// the same models the operator uses; a bad manifest is refused with its file, the
// field and the limit named.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseFunctionManifest, type FunctionDefinition } from './function.ts';
import { formatErrors } from './parse.ts';
import { parseTableManifest, type TableDefinition } from './table.ts';

export interface TableManifest extends TableDefinition {
  /** The file it was read from, for messages. */
  file: string;
}

export interface Manifests {
  functions: FunctionDefinition[];
  tables: TableManifest[];
  errors: string[];
}

function manifestFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) continue;
    if (/\.(ya?ml|json)$/.test(entry)) out.push(path);
  }
  return out;
}

export function loadManifests(dir: string): Manifests {
  const result: Manifests = { functions: [], tables: [], errors: [] };
  const seen = new Map<string, string>();
  for (const file of manifestFiles(dir)) {
    const where = relative(process.cwd(), file) || file;
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const [i, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
      if (doc.errors.length > 0) {
        result.errors.push(`${where}: document ${i + 1}: ${doc.errors[0]!.message}`);
        continue;
      }
      const obj = doc.toJS() as Record<string, unknown> | null;
      if (obj === null || typeof obj !== 'object') continue;
      if (obj.apiVersion !== 'selfless.dev/v1alpha1') continue;
      const name = (obj.metadata as { name?: unknown } | undefined)?.name;
      if (obj.kind === 'Function') {
        const parsed = parseFunctionManifest(obj, dirname(file));
        if (!parsed.ok) {
          result.errors.push(
            `${where}: Function ${String(name ?? '?')}: ${formatErrors(parsed.errors)}`,
          );
          continue;
        }
        const key = `Function/${parsed.value.name}`;
        if (seen.has(key)) {
          result.errors.push(
            `${where}: Function ${parsed.value.name} is also declared in ${seen.get(key)}`,
          );
          continue;
        }
        seen.set(key, where);
        result.functions.push(parsed.value);
      } else if (obj.kind === 'Table') {
        const parsed = parseTableManifest(obj);
        if (!parsed.ok) {
          result.errors.push(
            `${where}: Table ${String(name ?? '?')}: ${formatErrors(parsed.errors)}`,
          );
          continue;
        }
        const key = `Table/${parsed.value.tableName}`;
        if (seen.has(key)) {
          result.errors.push(
            `${where}: Table ${parsed.value.tableName} is also declared in ${seen.get(key)}`,
          );
          continue;
        }
        seen.set(key, where);
        result.tables.push({ ...parsed.value, file: where });
      }
    }
  }
  return result;
}
