// Event invoke configuration: the Function spec's functionEventInvokeConfig,
// unless Put/UpdateFunctionEventInvokeConfig stored one in the event store (shared
// by all replicas; each caches it briefly so the dispatcher does not read it per event).
import {
  LIMITS,
  keyOf,
  type FunctionDefinition,
  type FunctionEventInvokeConfig,
} from '../../lib/function.ts';
import type { EventStore } from './store.ts';

export interface StoredConfig {
  config: FunctionEventInvokeConfig;
  /** Epoch ms of the last change through the API. */
  lastModified: number;
}

export function isDefaultConfig(c: FunctionEventInvokeConfig): boolean {
  return (
    c.maximumRetryAttempts === LIMITS.maximumRetryAttempts.default &&
    c.maximumEventAgeInSeconds === LIMITS.maximumEventAgeInSeconds.default &&
    !c.destinationConfig.onFailure &&
    !c.destinationConfig.onSuccess
  );
}

export class EventInvokeConfigs {
  private readonly cache = new Map<string, { at: number; value: StoredConfig | undefined }>();

  constructor(
    private readonly store: EventStore,
    private readonly cacheMs: number,
  ) {}

  /** The API-set configuration, if any. */
  async stored(fn: string): Promise<StoredConfig | undefined> {
    const hit = this.cache.get(fn);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.value;
    const raw = await this.store.getConfig(fn);
    const value = raw === undefined ? undefined : (JSON.parse(raw) as StoredConfig);
    if (this.cacheMs > 0) this.cache.set(fn, { at: Date.now(), value });
    return value;
  }

  async effective(fn: FunctionDefinition): Promise<FunctionEventInvokeConfig> {
    return (await this.stored(keyOf(fn)))?.config ?? fn.spec.functionEventInvokeConfig;
  }

  async put(fn: string, config: FunctionEventInvokeConfig, now: number): Promise<StoredConfig> {
    const value = { config, lastModified: now };
    await this.store.putConfig(fn, JSON.stringify(value));
    this.cache.delete(fn);
    return value;
  }

  async delete(fn: string): Promise<void> {
    await this.store.deleteConfig(fn);
    this.cache.delete(fn);
  }
}
