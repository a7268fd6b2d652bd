// A map bounded by the bytes of its values, evicting the least recently used first,
// with a time to live per entry. Map keeps insertion order, so re-inserting on every
// hit makes its first key the least recently used.
export interface LruEntry<V> {
  value: V;
  bytes: number;
  expires: number;
}

export class Lru<V> {
  private readonly map = new Map<string, LruEntry<V>>();
  private size = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onEvict: () => void = () => {},
  ) {}

  get bytes(): number {
    return this.size;
  }

  get(key: string, now: number): LruEntry<V> | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.delete(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, e);
    return e;
  }

  set(key: string, value: V, bytes: number, expires: number): void {
    this.delete(key);
    if (bytes > this.maxBytes) return;
    this.map.set(key, { value, bytes, expires });
    this.size += bytes;
    for (const [k, e] of this.map) {
      if (this.size <= this.maxBytes) break;
      this.map.delete(k);
      this.size -= e.bytes;
      this.onEvict();
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.size -= e.bytes;
  }

  clear(): void {
    this.map.clear();
    this.size = 0;
  }
}
