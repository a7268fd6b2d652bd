// The Redis engine of the mapping store, shared by every gateway replica. Each
// transition is one Lua script (below, KEYS and ARGV at its top), so two replicas
// never both create the same mapping, never both hold a shard, and a replica whose
// lease lapsed cannot move a checkpoint another replica now owns.
//
// Keys (prefix {selfless}:esm):
//   :mappings            hash  uuid -> mapping JSON (API-created mappings)
//   :pairs               hash  "<stream arn>|<function>:<qualifier>" -> uuid
//   :results             hash  uuid -> LastProcessingResult
//   :cp:<uuid>           hash  shard id -> checkpoint JSON
//   :lease:<uuid>:<shard> string the holder's token, with the lease's expiry
import type { Redis } from 'ioredis';
import type { Mapping } from './mapping.ts';
import { pairOf, type Checkpoint, type MappingStore } from './store.ts';

// KEYS[1] mappings, KEYS[2] pairs; ARGV[1] uuid, ARGV[2] pair, ARGV[3] JSON.
// Returns '' when created, else the uuid of the mapping of the same pair.
const CREATE = `
local same = redis.call('HGET', KEYS[2], ARGV[2])
if same then return same end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return ''`;

// KEYS[1] mappings, KEYS[2] pairs, KEYS[3] results, KEYS[4] checkpoints; ARGV[1] uuid, ARGV[2] pair.
const REMOVE = `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[2]) end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
return 1`;

// KEYS[1] lease; ARGV[1] token, ARGV[2] ms. Returns 1 held (taken or extended), 0 another's.
const LEASE = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS[1] lease; ARGV[1] token.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

// KEYS[1] lease, KEYS[2] checkpoints; ARGV[1] token, ARGV[2] shard, ARGV[3] JSON.
// Returns 1 written, 0 the lease is not the caller's (nothing written).
const COMMIT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`;

export class RedisMappingStore implements MappingStore {
  readonly durable = true;
  private readonly k;

  constructor(
    private readonly redis: Redis,
    prefix = '{selfless}:esm',
  ) {
    this.k = {
      mappings: `${prefix}:mappings`,
      pairs: `${prefix}:pairs`,
      results: `${prefix}:results`,
      cp: (uuid: string) => `${prefix}:cp:${uuid}`,
      lease: (uuid: string, shard: string) => `${prefix}:lease:${uuid}:${shard}`,
    };
  }

  async list(): Promise<Mapping[]> {
    const all = await this.redis.hvals(this.k.mappings);
    return all.map((j) => JSON.parse(j) as Mapping);
  }
  async create(m: Mapping): Promise<string | undefined> {
    const same = (await this.redis.eval(
      CREATE,
      2,
      this.k.mappings,
      this.k.pairs,
      m.uuid,
      pairOf(m),
      JSON.stringify(m),
    )) as string;
    return same === '' ? undefined : same;
  }
  async put(m: Mapping): Promise<void> {
    await this.redis.hset(this.k.mappings, m.uuid, JSON.stringify(m));
  }
  async remove(m: Mapping): Promise<void> {
    await this.redis.eval(
      REMOVE,
      4,
      this.k.mappings,
      this.k.pairs,
      this.k.results,
      this.k.cp(m.uuid),
      m.uuid,
      pairOf(m),
    );
  }
  async lastResult(uuid: string): Promise<string | undefined> {
    return (await this.redis.hget(this.k.results, uuid)) ?? undefined;
  }
  async setLastResult(uuid: string, result: string): Promise<void> {
    await this.redis.hset(this.k.results, uuid, result);
  }
  async lease(uuid: string, shard: string, token: string, ms: number): Promise<boolean> {
    return (await this.redis.eval(LEASE, 1, this.k.lease(uuid, shard), token, ms)) === 1;
  }
  async release(uuid: string, shard: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.k.lease(uuid, shard), token);
  }
  async checkpoint(uuid: string, shard: string): Promise<Checkpoint | undefined> {
    const j = await this.redis.hget(this.k.cp(uuid), shard);
    return j ? (JSON.parse(j) as Checkpoint) : undefined;
  }
  async commit(uuid: string, shard: string, token: string, cp: Checkpoint): Promise<boolean> {
    const r = await this.redis.eval(
      COMMIT,
      2,
      this.k.lease(uuid, shard),
      this.k.cp(uuid),
      token,
      shard,
      JSON.stringify(cp),
    );
    return r === 1;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
