// What event source mappings keep: the mappings the API created, each shard's
// checkpoint and the lease that lets exactly one poller read a shard. Two engines:
// Redis (redis-store.ts: shared by every gateway replica, one Lua step per
// transition) and memory (this file: one process; with a file, `selfless dev
// --state-dir`, checkpoints and mappings survive a restart).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Mapping } from './mapping.ts';

/** Where a shard's reading resumes: after `after`; or, for LATEST before any record, at `startAt`. */
export interface Checkpoint {
  after?: string;
  /** Epoch ms at which a LATEST mapping began on this shard; older records are skipped. */
  startAt?: number;
  /** The shard is closed and read to its end. */
  done?: boolean;
  /**
   * The open tumbling window, kept with the position it belongs to, so a restart
   * resumes after `after` with the state the function returned there.
   */
  window?: OpenWindow;
}

export interface OpenWindow {
  /** Epoch seconds: records created in [start, end) belong to it. */
  start: number;
  end: number;
  /** The state the function returned last in this window; {} at its start. */
  state: Record<string, unknown>;
}

export interface MappingStore {
  readonly durable: boolean;
  list(): Promise<Mapping[]>;
  /** Stores a new mapping unless one of the same source and function exists: then its uuid. */
  create(m: Mapping): Promise<string | undefined>;
  put(m: Mapping): Promise<void>;
  /** The mapping, its checkpoints and its status go. */
  remove(m: Mapping): Promise<void>;
  lastResult(uuid: string): Promise<string | undefined>;
  setLastResult(uuid: string, result: string): Promise<void>;
  /** Takes the shard's lease for `token`, or extends it; false while another token holds it. */
  lease(uuid: string, shard: string, token: string, ms: number): Promise<boolean>;
  release(uuid: string, shard: string, token: string): Promise<void>;
  checkpoint(uuid: string, shard: string): Promise<Checkpoint | undefined>;
  /** Writes the checkpoint only while `token` holds the lease; false when it does not. */
  commit(uuid: string, shard: string, token: string, cp: Checkpoint): Promise<boolean>;
  close(): Promise<void>;
}

export const pairOf = (m: Pick<Mapping, 'eventSourceArn' | 'functionKey' | 'qualifier'>) =>
  `${m.eventSourceArn ?? ''}|${m.functionKey}:${m.qualifier ?? ''}`;

interface FileState {
  mappings: Mapping[];
  checkpoints: Record<string, Record<string, Checkpoint>>;
  results: Record<string, string>;
}

export class MemoryMappingStore implements MappingStore {
  readonly durable: boolean;
  private state: FileState = { mappings: [], checkpoints: {}, results: {} };
  private readonly leases = new Map<string, { token: string; until: number }>();

  /** `file`: keep mappings and checkpoints there (written on every change). */
  constructor(
    private readonly file?: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.durable = file !== undefined;
    if (file && existsSync(file)) this.state = JSON.parse(readFileSync(file, 'utf8')) as FileState;
  }

  private save(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state));
    renameSync(tmp, this.file);
  }

  list(): Promise<Mapping[]> {
    return Promise.resolve(this.state.mappings.map((m) => ({ ...m })));
  }
  create(m: Mapping): Promise<string | undefined> {
    const same = this.state.mappings.find((x) => pairOf(x) === pairOf(m));
    if (same) return Promise.resolve(same.uuid);
    this.state.mappings.push({ ...m });
    this.save();
    return Promise.resolve(undefined);
  }
  put(m: Mapping): Promise<void> {
    const i = this.state.mappings.findIndex((x) => x.uuid === m.uuid);
    if (i >= 0) this.state.mappings[i] = { ...m };
    this.save();
    return Promise.resolve();
  }
  remove(m: Mapping): Promise<void> {
    this.state.mappings = this.state.mappings.filter((x) => x.uuid !== m.uuid);
    delete this.state.checkpoints[m.uuid];
    delete this.state.results[m.uuid];
    this.save();
    return Promise.resolve();
  }
  lastResult(uuid: string): Promise<string | undefined> {
    return Promise.resolve(this.state.results[uuid]);
  }
  setLastResult(uuid: string, result: string): Promise<void> {
    if (this.state.results[uuid] !== result) {
      this.state.results[uuid] = result;
      this.save();
    }
    return Promise.resolve();
  }
  lease(uuid: string, shard: string, token: string, ms: number): Promise<boolean> {
    const k = `${uuid}/${shard}`;
    const now = this.clock();
    const cur = this.leases.get(k);
    if (cur && cur.token !== token && cur.until > now) return Promise.resolve(false);
    this.leases.set(k, { token, until: now + ms });
    return Promise.resolve(true);
  }
  release(uuid: string, shard: string, token: string): Promise<void> {
    const k = `${uuid}/${shard}`;
    if (this.leases.get(k)?.token === token) this.leases.delete(k);
    return Promise.resolve();
  }
  checkpoint(uuid: string, shard: string): Promise<Checkpoint | undefined> {
    return Promise.resolve(this.state.checkpoints[uuid]?.[shard]);
  }
  commit(uuid: string, shard: string, token: string, cp: Checkpoint): Promise<boolean> {
    const cur = this.leases.get(`${uuid}/${shard}`);
    if (!cur || cur.token !== token) return Promise.resolve(false);
    (this.state.checkpoints[uuid] ??= {})[shard] = cp;
    this.save();
    return Promise.resolve(true);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
