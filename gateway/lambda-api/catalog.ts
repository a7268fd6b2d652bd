// What Lambda's API knows about each function beyond the definition the registry
// serves: revision ids, code hashes, State / LastUpdateStatus, tags, description
// and the other fields GetFunction reports, published versions and aliases.
//
// The registry stays the one truth of what runs. The catalog writes definitions
// into it (through a Writer: the registry itself in `selfless dev`, the Function
// resources in a cluster) and follows it: a definition that changes without the
// catalog (a manifest, `kubectl edit`) gets a new revision and code hash here.
import { createHash, randomUUID } from 'node:crypto';
import {
  keyOf,
  type FunctionDefinition,
  type FunctionSpec,
  type FunctionUrlSpec,
} from '../../lib/function.ts';
import { LATEST, routeOf, type FunctionRegistry } from '../registry.ts';
import { canonical } from '../../lib/canonical.ts';
import { codeSha256Of } from '../../lib/content-ref.ts';
import type { FunctionAlias } from '../../lib/function-alias.ts';
import { snapshotSpec } from '../../lib/function-version.ts';
import type { ProvisionedConcurrencyConfig } from '../../lib/provisioned-concurrency.ts';

export type State = 'Pending' | 'Active' | 'Failed';
export type UpdateStatus = 'InProgress' | 'Successful' | 'Failed';

/** The per-function fields of GetFunction's Configuration that the spec does not hold. */
export interface FunctionMeta {
  description: string;
  role?: string;
  codeSha256: string;
  codeSize: number;
  lastModified: string;
  revisionId: string;
  state: State;
  lastUpdateStatus: UpdateStatus;
  layers: string[];
  architectures: string[];
  /** Fields accepted and reported back that change nothing here (TracingConfig, VpcConfig...). */
  passthrough: Record<string, unknown>;
}

export interface VersionRecord {
  fn: FunctionDefinition;
  meta: FunctionMeta;
}

export interface AliasRecord {
  name: string;
  functionVersion: string;
  description: string;
  additionalVersionWeights?: Record<string, number>;
  /** Its Function URL, kept here where the alias travels in spec.aliases (a cluster). */
  functionUrl?: FunctionUrlSpec;
  revisionId: string;
}

export interface FunctionRecord {
  meta: FunctionMeta;
  /** The definition `meta` describes. */
  described: FunctionDefinition;
  versions: Map<string, VersionRecord>;
  /** Versions are numbered from 1 and never reused, even after a delete. */
  lastVersion: number;
  aliases: Map<string, AliasRecord>;
  tags: Record<string, string>;
  /** Made through CreateFunction (kept in a state directory), not declared by a manifest. */
  createdByApi: boolean;
}

/** Where definitions go: the registry under `selfless dev`, Function resources in a cluster. */
export interface Writer {
  put(fn: FunctionDefinition, record: FunctionRecord): Promise<void>;
  remove(fn: FunctionDefinition): Promise<void>;
  /**
   * The definition as it will be stored, before the catalog records it: in a cluster a
   * zip too big for the resource goes to the content store and the code names it.
   */
  stored?(fn: FunctionDefinition): Promise<FunctionDefinition>;
  /**
   * Where versions and aliases are resources every replica serves (a cluster): a
   * version is written under the next number (above `after` and any the function ever
   * had; it resolves to that number once served), aliases travel in the definition's
   * spec.aliases, and the catalog reads both back from the registry. Without these,
   * they live in the catalog alone.
   */
  readonly shared?: {
    publish(snapshot: FunctionDefinition, description: string, after: number): Promise<string>;
    removeVersion(fn: FunctionDefinition & { version: string }): Promise<void>;
  };
}

/** Lambda's timestamps: 2024-05-01T12:00:00.000+0000. */
export function lambdaTimestamp(at: Date): string {
  return at.toISOString().replace('Z', '+0000');
}

/** CodeSha256 and CodeSize as Lambda reports them: of the zip's bytes. */
export function codeHash(fn: FunctionDefinition): { codeSha256: string; codeSize: number } {
  const code = fn.spec.code;
  if (code.contentRef)
    return { codeSha256: codeSha256Of(code.contentRef), codeSize: code.contentRef.size };
  const bytes =
    code.zipFile !== undefined
      ? Buffer.from(code.zipFile, 'base64')
      : Buffer.from(code.imageURI ?? JSON.stringify(code));
  return {
    codeSha256: createHash('sha256').update(bytes).digest('base64'),
    codeSize: bytes.length,
  };
}

/**
 * What PublishVersion compares: code and configuration, not the function-level
 * settings, nor the description (a version's is PublishVersion's own).
 */
function publishedShape(fn: FunctionDefinition, meta: FunctionMeta): string {
  const spec: Partial<FunctionSpec> = snapshotSpec(fn.spec);
  delete spec.provisionedConcurrentExecutions;
  delete spec.triggers;
  const { role, layers, architectures, passthrough } = meta;
  return JSON.stringify({
    spec,
    role,
    layers,
    architectures,
    passthrough,
  });
}

/** Lambda deletes a version's or alias's provisioned concurrency config with it. */
function withoutProvisioned(fn: FunctionDefinition, qualifier: string): FunctionDefinition {
  const configs = fn.spec.provisionedConcurrencyConfigs ?? [];
  if (!configs.some((c) => c.qualifier === qualifier)) return fn;
  const spec: FunctionSpec = { ...fn.spec };
  const kept = configs.filter((c) => c.qualifier !== qualifier);
  if (kept.length > 0) spec.provisionedConcurrencyConfigs = kept;
  else delete spec.provisionedConcurrencyConfigs;
  return { ...fn, spec };
}

export interface CatalogOptions {
  now?: () => Date;
  /** Runs the step that ends an update (Pending -> Active, InProgress -> Successful). */
  settle?: (done: () => void) => void;
  /** Called after every change (the state directory saves then). */
  onChange?: () => void;
}

export class FunctionCatalog {
  private readonly records = new Map<string, FunctionRecord>();
  private readonly now: () => Date;
  private readonly settle: (done: () => void) => void;

  constructor(
    private readonly registry: FunctionRegistry,
    private readonly writer: Writer,
    private readonly opts: CatalogOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.settle = opts.settle ?? ((done) => setImmediate(done));
    registry.on('changed', (fn) => {
      if (fn.version !== undefined) return;
      const record = this.records.get(keyOf(fn));
      if (record && record.described !== fn) this.follow(record, fn);
      // In a cluster the operator publishes (one leader, no race between replicas).
      if (fn.spec.publish && !this.writer.shared) this.autoPublish(keyOf(fn));
    });
    registry.on('removed', (fn) => {
      if (fn.version === undefined && this.records.delete(keyOf(fn))) this.changed();
    });
  }

  /** The record of a served function; one is made for a function the API has not seen. */
  get(key: string): FunctionRecord | undefined {
    const fn = this.registry.get(key);
    if (!fn || fn.version !== undefined) return undefined;
    let record = this.records.get(key);
    if (!record) {
      record = {
        meta: this.freshMeta(fn, {}),
        described: fn,
        versions: new Map(),
        lastVersion: 0,
        aliases: new Map(),
        tags: {},
        createdByApi: false,
      };
      this.records.set(key, record);
    }
    if (this.writer.shared) this.readShared(key, record);
    else this.readAliases(record, false);
    return record;
  }

  /**
   * In a cluster every replica learns versions and aliases from the resources: the
   * records follow what the registry serves (level-based, so a version another
   * replica published is here as soon as the watch brings it).
   */
  private readShared(key: string, record: FunctionRecord): void {
    const served = new Map(this.registry.versionsOf(key).map((v) => [v.version!, v]));
    for (const v of record.versions.keys()) if (!served.has(v)) record.versions.delete(v);
    for (const [v, fn] of served) {
      record.lastVersion = Math.max(record.lastVersion, Number(v));
      if (record.versions.has(v)) continue;
      record.versions.set(v, {
        fn,
        meta: {
          ...record.meta,
          ...codeHash(fn),
          description: fn.description ?? '',
          revisionId: randomUUID(),
          state: 'Active',
          lastUpdateStatus: 'Successful',
        },
      });
    }
    this.readAliases(record, true);
  }

  /**
   * The aliases spec.aliases declares (a manifest's, or in a cluster all of them);
   * `only`: those are all there are.
   */
  private readAliases(record: FunctionRecord, only: boolean): void {
    const declared = new Map((record.described.spec.aliases ?? []).map((a) => [a.name, a]));
    if (only) {
      for (const name of record.aliases.keys())
        if (!declared.has(name)) record.aliases.delete(name);
    }
    for (const [name, a] of declared) {
      const known = record.aliases.get(name);
      const route = JSON.stringify([a.functionVersion, a.additionalVersionWeights ?? null]);
      if (
        known &&
        known.description === (a.description ?? '') &&
        JSON.stringify([known.functionVersion, known.additionalVersionWeights ?? null]) === route
      ) {
        // A URL is not a change of the alias (no new RevisionId), only carried with it.
        if (a.functionUrl) known.functionUrl = a.functionUrl;
        else delete known.functionUrl;
        continue;
      }
      record.aliases.set(name, {
        name,
        functionVersion: a.functionVersion,
        description: a.description ?? '',
        ...(a.additionalVersionWeights && { additionalVersionWeights: a.additionalVersionWeights }),
        ...(a.functionUrl && { functionUrl: a.functionUrl }),
        revisionId: randomUUID(),
      });
    }
  }

  /** $LATEST with the record's aliases in spec.aliases, as a cluster keeps them. */
  private withAliases(record: FunctionRecord): FunctionDefinition {
    const latest = this.latest(keyOf(record.described))!;
    const aliases: FunctionAlias[] = [...record.aliases.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((a) => ({
        name: a.name,
        functionVersion: a.functionVersion,
        ...(a.description !== '' && { description: a.description }),
        ...(a.additionalVersionWeights && { additionalVersionWeights: a.additionalVersionWeights }),
        ...(a.functionUrl && { functionUrl: a.functionUrl }),
      }));
    const spec: FunctionSpec = { ...latest.spec };
    if (aliases.length > 0) spec.aliases = aliases;
    else delete spec.aliases;
    return { ...latest, spec };
  }

  /**
   * The State an invocation of `fn` meets, from what this replica holds (no API-server
   * call: Invoke asks on every call); a function the API never touched is Active.
   */
  stateOf(fn: FunctionDefinition): State {
    const record = this.records.get(keyOf(fn));
    if (!record) return 'Active';
    if (fn.version === undefined) return record.meta.state;
    return record.versions.get(fn.version)?.meta.state ?? 'Active';
  }

  /** The definition of $LATEST as it is served now (reservations included). */
  latest(key: string): FunctionDefinition | undefined {
    const fn = this.registry.get(key);
    return fn?.version === undefined ? fn : undefined;
  }

  entries(): [string, FunctionRecord][] {
    return [...this.records.entries()];
  }

  private freshMeta(fn: FunctionDefinition, patch: Partial<FunctionMeta>): FunctionMeta {
    return {
      description: '',
      lastModified: lambdaTimestamp(this.now()),
      revisionId: randomUUID(),
      state: 'Active',
      lastUpdateStatus: 'Successful',
      layers: [],
      architectures: ['x86_64'],
      passthrough: {},
      ...codeHash(fn),
      ...patch,
    };
  }

  /** Someone else changed the definition: it is a new revision of $LATEST. */
  private follow(record: FunctionRecord, fn: FunctionDefinition): void {
    // Aliases and provisioned concurrency are not the function's configuration: CreateAlias
    // and PutProvisionedConcurrencyConfig leave its revision be.
    const unaliased = (spec: FunctionSpec) =>
      canonical({ ...spec, aliases: undefined, provisionedConcurrencyConfigs: undefined });
    const same = unaliased(fn.spec) === unaliased(record.described.spec);
    record.described = fn;
    // In a cluster what the catalog wrote comes back through the watch as a new object.
    if (same) return;
    record.meta = {
      ...record.meta,
      ...codeHash(fn),
      revisionId: randomUUID(),
      lastModified: lambdaTimestamp(this.now()),
    };
    this.changed();
  }

  private changed(): void {
    this.opts.onChange?.();
  }

  private startUpdate(record: FunctionRecord, creating: boolean): void {
    record.meta.lastUpdateStatus = 'InProgress';
    if (creating) record.meta.state = 'Pending';
    this.settle(() => {
      record.meta.state = 'Active';
      record.meta.lastUpdateStatus = 'Successful';
      this.changed();
    });
  }

  async create(
    fn: FunctionDefinition,
    meta: Partial<FunctionMeta>,
    tags: Record<string, string>,
  ): Promise<FunctionRecord> {
    fn = (await this.writer.stored?.(fn)) ?? fn;
    const record: FunctionRecord = {
      meta: this.freshMeta(fn, meta),
      described: fn,
      versions: new Map(),
      lastVersion: 0,
      aliases: new Map(),
      tags,
      createdByApi: true,
    };
    this.records.set(keyOf(fn), record);
    await this.writer.put(fn, record);
    this.startUpdate(record, true);
    this.changed();
    return record;
  }

  /** A new $LATEST (code, configuration or both); `meta` replaces the fields it names. */
  async update(
    record: FunctionRecord,
    fn: FunctionDefinition,
    meta: Partial<FunctionMeta>,
  ): Promise<void> {
    fn = (await this.writer.stored?.(fn)) ?? fn;
    record.described = fn;
    record.meta = {
      ...record.meta,
      ...meta,
      ...codeHash(fn),
      revisionId: randomUUID(),
      lastModified: lambdaTimestamp(this.now()),
    };
    await this.writer.put(fn, record);
    this.startUpdate(record, false);
    this.changed();
  }

  async remove(fn: FunctionDefinition): Promise<void> {
    this.records.delete(keyOf(fn));
    await this.writer.remove(fn);
    this.changed();
  }

  /** publish: true in a manifest: $LATEST as it is now becomes a version if it is new. */
  private autoPublish(key: string): void {
    const record = this.get(key);
    // Only a function removed in between can fail here, and then there is nothing to publish.
    if (record) this.publish(record, undefined).catch(() => undefined);
  }

  /** Lambda publishes nothing new when $LATEST equals the last version: it returns that one. */
  async publish(record: FunctionRecord, description: string | undefined): Promise<VersionRecord> {
    const key = keyOf(record.described);
    const latest = this.latest(key)!;
    const last = record.versions.get(String(record.lastVersion));
    if (last && publishedShape(last.fn, last.meta) === publishedShape(latest, record.meta)) {
      return last;
    }
    const text = description ?? record.meta.description;
    const snapshot: FunctionDefinition = {
      ...latest,
      spec: snapshotSpec(latest.spec),
      ...(text !== '' && { description: text }),
    };
    const version = this.writer.shared
      ? await this.writer.shared.publish(snapshot, text, record.lastVersion)
      : String(record.lastVersion + 1);
    const fn = { ...snapshot, version };
    const entry: VersionRecord = {
      fn,
      meta: {
        ...record.meta,
        description: description ?? record.meta.description,
        revisionId: randomUUID(),
        lastModified: lambdaTimestamp(this.now()),
        state: 'Active',
        lastUpdateStatus: 'Successful',
      },
    };
    record.lastVersion = Number(version);
    record.versions.set(version, entry);
    // A new version changes the function: its $LATEST revision moves on, as Lambda's does.
    record.meta.revisionId = randomUUID();
    this.registry.putVersion(fn);
    if (!this.writer.shared) await this.writer.put(latest, record);
    this.changed();
    return entry;
  }

  async removeVersion(record: FunctionRecord, version: string): Promise<void> {
    const entry = record.versions.get(version);
    record.versions.delete(version);
    if (this.writer.shared && entry) {
      await this.writer.shared.removeVersion({ ...entry.fn, version });
    }
    this.registry.removeVersion(keyOf(record.described), version);
    const latest = this.latest(keyOf(record.described))!;
    const next = withoutProvisioned(latest, version);
    if (!this.writer.shared || next !== latest) await this.writer.put(next, record);
    this.changed();
  }

  /** Whether aliases (and their URLs) travel in the resource every replica reads. */
  get sharesAliases(): boolean {
    return this.writer.shared !== undefined;
  }

  async putAlias(record: FunctionRecord, alias: AliasRecord): Promise<void> {
    record.aliases.set(alias.name, alias);
    this.registry.putAlias(keyOf(record.described), alias.name, routeOf(alias));
    await this.writer.put(
      this.writer.shared ? this.withAliases(record) : this.latest(keyOf(record.described))!,
      record,
    );
    this.changed();
  }

  async removeAlias(record: FunctionRecord, name: string): Promise<void> {
    record.aliases.delete(name);
    this.registry.removeAlias(keyOf(record.described), name);
    await this.writer.put(
      withoutProvisioned(
        this.writer.shared ? this.withAliases(record) : this.latest(keyOf(record.described))!,
        name,
      ),
      record,
    );
    this.changed();
  }

  /**
   * The function's provisioned concurrency configs, in its spec (so a cluster's replicas
   * and the operator see them); `lastModified` stamps the qualifier that changed.
   */
  async setProvisionedConfigs(
    record: FunctionRecord,
    configs: ProvisionedConcurrencyConfig[],
  ): Promise<void> {
    const latest = this.writer.shared
      ? this.withAliases(record)
      : this.latest(keyOf(record.described))!;
    const spec: FunctionSpec = { ...latest.spec };
    if (configs.length > 0) spec.provisionedConcurrencyConfigs = configs;
    else delete spec.provisionedConcurrencyConfigs;
    const fn = { ...latest, spec };
    record.described = fn;
    await this.writer.put(fn, record);
    this.changed();
  }

  async setTags(record: FunctionRecord, tags: Record<string, string>): Promise<void> {
    record.tags = tags;
    await this.writer.put(this.latest(keyOf(record.described))!, record);
    this.changed();
  }

  /** Puts a saved record back (state directory), with its versions and aliases served again. */
  restore(record: FunctionRecord): void {
    const key = keyOf(record.described);
    this.records.set(key, record);
    for (const v of record.versions.values()) this.registry.putVersion(v.fn);
    for (const a of record.aliases.values()) this.registry.putAlias(key, a.name, routeOf(a));
  }
}

export { LATEST };
