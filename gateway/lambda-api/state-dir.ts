// `selfless dev --state-dir DIR`: what the deployment API made survives a restart.
// DIR/functions.json holds every record (definition, fields, versions, aliases,
// tags); each zip is stored once, by its SHA-256, as DIR/code/<hex>.zip, so the JSON
// stays small and a version sharing its code with $LATEST costs nothing more.
//
// Functions created through the API come back as they were. A function declared by
// a manifest comes back from the manifest ($LATEST is the file's), with the versions,
// aliases and tags the API gave it.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyOf, type FunctionDefinition } from '../../lib/function.ts';
import type { FunctionRegistry } from '../registry.ts';
import {
  codeHash,
  type AliasRecord,
  type FunctionCatalog,
  type FunctionMeta,
  type FunctionRecord,
  type VersionRecord,
} from './catalog.ts';

interface SavedDefinition extends Omit<FunctionDefinition, 'spec'> {
  spec: Omit<FunctionDefinition['spec'], 'code'> & {
    code: Omit<FunctionDefinition['spec']['code'], 'zipFile'> & { zipSha256?: string };
  };
}

interface SavedRecord {
  latest: SavedDefinition;
  meta: FunctionMeta;
  lastVersion: number;
  versions: { fn: SavedDefinition; meta: FunctionMeta }[];
  aliases: AliasRecord[];
  tags: Record<string, string>;
  createdByApi: boolean;
}

const FILE = 'functions.json';

export class StateDir {
  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'code'), { recursive: true });
  }

  private store(fn: FunctionDefinition, sha256: string): SavedDefinition {
    const { zipFile, ...code } = fn.spec.code;
    if (zipFile === undefined) return fn;
    const hex = Buffer.from(sha256, 'base64').toString('hex');
    const path = join(this.dir, 'code', `${hex}.zip`);
    if (!existsSync(path)) {
      writeFileSync(`${path}.tmp`, Buffer.from(zipFile, 'base64'));
      renameSync(`${path}.tmp`, path);
    }
    return { ...fn, spec: { ...fn.spec, code: { ...code, zipSha256: hex } } };
  }

  private load(saved: SavedDefinition): FunctionDefinition {
    const { zipSha256, ...code } = saved.spec.code;
    if (zipSha256 === undefined) return saved as FunctionDefinition;
    const zip = readFileSync(join(this.dir, 'code', `${zipSha256}.zip`));
    return {
      ...saved,
      spec: { ...saved.spec, code: { ...code, zipFile: zip.toString('base64') } },
    };
  }

  save(catalog: FunctionCatalog): void {
    const records: SavedRecord[] = [];
    for (const [key, r] of catalog.entries()) {
      const latest = catalog.latest(key);
      if (!latest) continue;
      records.push({
        latest: this.store(latest, r.meta.codeSha256),
        meta: r.meta,
        lastVersion: r.lastVersion,
        versions: [...r.versions.values()].map((v) => ({
          fn: this.store(v.fn, v.meta.codeSha256),
          meta: v.meta,
        })),
        aliases: [...r.aliases.values()],
        tags: r.tags,
        createdByApi: r.createdByApi,
      });
    }
    const path = join(this.dir, FILE);
    writeFileSync(`${path}.tmp`, JSON.stringify({ functions: records }));
    renameSync(`${path}.tmp`, path);
  }

  /** Serves the saved functions again; call after the manifests are in the registry. */
  restore(catalog: FunctionCatalog, registry: FunctionRegistry): void {
    const path = join(this.dir, FILE);
    if (!existsSync(path)) return;
    const { functions } = JSON.parse(readFileSync(path, 'utf8')) as { functions: SavedRecord[] };
    for (const saved of functions) {
      const key = keyOf(saved.latest);
      const declared = registry.get(key);
      if (!saved.createdByApi && !declared) continue;
      let latest = declared;
      if (saved.createdByApi) {
        latest = this.load(saved.latest);
        registry.put(latest);
      }
      const versions = new Map<string, VersionRecord>(
        saved.versions.map((v) => [v.fn.version!, { fn: this.load(v.fn), meta: v.meta }]),
      );
      const record: FunctionRecord = {
        // A manifest may have changed while the server was down: its hash is the file's.
        meta: {
          ...saved.meta,
          ...codeHash(latest!),
          state: 'Active',
          lastUpdateStatus: 'Successful',
        },
        described: latest!,
        versions,
        lastVersion: saved.lastVersion,
        aliases: new Map(saved.aliases.map((a) => [a.name, a])),
        tags: saved.tags,
        createdByApi: saved.createdByApi,
      };
      catalog.restore(record);
    }
  }
}
