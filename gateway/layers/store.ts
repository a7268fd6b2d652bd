// Published layer versions: what the Lambda API's layer actions read and write and
// what a driver extracts into a function's /opt. Behind an interface so that a
// cluster store (shared by gateway replicas and readable by worker pods) can take
// this one's place; this one lives in the gateway process and, given a directory,
// keeps DIR/layers.json and each zip as DIR/layers/<sha256 hex>.zip.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LayerStatement {
  sid: string;
  action: string;
  principal: string;
  organizationId?: string;
}

export interface LayerVersion {
  name: string;
  version: number;
  description?: string;
  licenseInfo?: string;
  compatibleRuntimes?: string[];
  compatibleArchitectures?: string[];
  /** Lambda's timestamp form, e.g. 2026-12-03T12:00:00.000+0000. */
  createdDate: string;
  codeSha256: string;
  codeSize: number;
  unzippedSize: number;
  policy: { revisionId: string; statements: LayerStatement[] };
  /**
   * Deleted versions are no longer listed or found, but their content stays for the
   * functions still using them, as Lambda keeps a copy while any function refers to it.
   */
  deleted?: boolean;
}

export type LayerFields = Pick<
  LayerVersion,
  'description' | 'licenseInfo' | 'compatibleRuntimes' | 'compatibleArchitectures'
>;

export interface LayerStore {
  /** A new version numbered one above the highest ever published under `name`. */
  publish(
    name: string,
    zip: Buffer,
    unzippedSize: number,
    fields: LayerFields,
  ): LayerVersion | Promise<LayerVersion>;
  /** A version that is not deleted. */
  get(name: string, version: number): LayerVersion | undefined;
  /** The versions of `name` not deleted, newest first. */
  versions(name: string): LayerVersion[];
  /** The names with at least one version not deleted, in order. */
  names(): string[];
  delete(name: string, version: number): void | Promise<void>;
  setPolicy(name: string, version: number, policy: LayerVersion['policy']): void | Promise<void>;
  /** The zip of a version, deleted or not: what a function using it runs with. */
  content(name: string, version: number): Buffer | undefined;
  /**
   * The same zip for GetLayerVersion's Content.Location, read where it is kept: in a
   * cluster a big one is in the content store, which only this reads.
   */
  download(name: string, version: number): Promise<Buffer | undefined>;
  /** Bytes of a version's files, deleted or not: the 250 MB check of code plus layers. */
  unzippedSizeOf(name: string, version: number): number | undefined;
}

interface Saved {
  layers: { name: string; lastVersion: number; versions: LayerVersion[] }[];
}

export class MemoryLayerStore implements LayerStore {
  private readonly layers = new Map<string, { lastVersion: number; versions: LayerVersion[] }>();
  private readonly zips = new Map<string, Buffer>();

  constructor(
    private readonly dir?: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    if (!dir) return;
    mkdirSync(join(dir, 'layers'), { recursive: true });
    const file = join(dir, 'layers.json');
    if (!existsSync(file)) return;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
    for (const l of saved.layers) {
      this.layers.set(l.name, { lastVersion: l.lastVersion, versions: l.versions });
    }
  }

  private zipPath(sha256: string): string {
    return join(this.dir!, 'layers', `${Buffer.from(sha256, 'base64').toString('hex')}.zip`);
  }

  private save(): void {
    if (!this.dir) return;
    const saved: Saved = {
      layers: [...this.layers].map(([name, l]) => ({ name, ...l })),
    };
    const file = join(this.dir, 'layers.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(saved));
    renameSync(`${file}.tmp`, file);
  }

  publish(name: string, zip: Buffer, unzippedSize: number, fields: LayerFields): LayerVersion {
    const layer = this.layers.get(name) ?? { lastVersion: 0, versions: [] };
    const codeSha256 = createHash('sha256').update(zip).digest('base64');
    const version: LayerVersion = {
      name,
      version: layer.lastVersion + 1,
      ...fields,
      createdDate: this.now().toISOString().replace('Z', '+0000'),
      codeSha256,
      codeSize: zip.length,
      unzippedSize,
      policy: { revisionId: crypto.randomUUID(), statements: [] },
    };
    if (this.dir) {
      const path = this.zipPath(codeSha256);
      if (!existsSync(path)) {
        writeFileSync(`${path}.tmp`, zip);
        renameSync(`${path}.tmp`, path);
      }
    } else {
      this.zips.set(codeSha256, zip);
    }
    layer.lastVersion = version.version;
    layer.versions.push(version);
    this.layers.set(name, layer);
    this.save();
    return version;
  }

  private find(name: string, version: number): LayerVersion | undefined {
    return this.layers.get(name)?.versions.find((v) => v.version === version);
  }

  get(name: string, version: number): LayerVersion | undefined {
    const v = this.find(name, version);
    return v && !v.deleted ? v : undefined;
  }

  versions(name: string): LayerVersion[] {
    return (this.layers.get(name)?.versions ?? []).filter((v) => !v.deleted).reverse();
  }

  names(): string[] {
    return [...this.layers.keys()].filter((n) => this.versions(n).length > 0).sort();
  }

  delete(name: string, version: number): void {
    const v = this.find(name, version);
    if (!v || v.deleted) return;
    v.deleted = true;
    this.save();
  }

  setPolicy(name: string, version: number, policy: LayerVersion['policy']): void {
    const v = this.get(name, version);
    if (!v) return;
    v.policy = policy;
    this.save();
  }

  download(name: string, version: number): Promise<Buffer | undefined> {
    return Promise.resolve(this.content(name, version));
  }

  unzippedSizeOf(name: string, version: number): number | undefined {
    return this.find(name, version)?.unzippedSize;
  }

  content(name: string, version: number): Buffer | undefined {
    const v = this.find(name, version);
    if (!v) return undefined;
    if (!this.dir) return this.zips.get(v.codeSha256);
    const path = this.zipPath(v.codeSha256);
    return existsSync(path) ? readFileSync(path) : undefined;
  }
}
