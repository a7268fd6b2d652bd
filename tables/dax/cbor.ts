// The subset of CBOR (RFC 8949) the DAX protocol uses, both ways. The official
// client carries its own codec rather than a library, and its framing has no length
// prefix, so the server must know where one value ends: decode() reports "not yet"
// instead of failing on a partial value. Integers beyond 2^53 decode as bigint.

export class Tagged {
  constructor(
    readonly tag: number,
    readonly value: Cbor,
  ) {}
}

export type Cbor =
  | number
  | bigint
  | string
  | Buffer
  | boolean
  | null
  | undefined
  | Cbor[]
  | Map<Cbor, Cbor>
  | Tagged;

/** Thrown when the buffer ends inside a value: wait for more bytes. */
export class NeedMore extends Error {}

export class CborReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new NeedMore();
    return this.buf[this.pos++]!;
  }

  private bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new NeedMore();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The argument of a head byte: a length, a count or an integer. */
  private arg(info: number): number | bigint {
    if (info < 24) return info;
    if (info === 24) return this.byte();
    if (info === 25) return this.bytes(2).readUInt16BE(0);
    if (info === 26) return this.bytes(4).readUInt32BE(0);
    if (info === 27) {
      const v = this.bytes(8).readBigUInt64BE(0);
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    throw new Error(`CBOR: bad additional info ${info}`);
  }

  private length(info: number): number {
    const n = this.arg(info);
    if (typeof n === 'bigint') throw new Error('CBOR: length too large');
    return n;
  }

  private isBreak(): boolean {
    if (this.pos >= this.buf.length) throw new NeedMore();
    if (this.buf[this.pos] === 0xff) {
      this.pos++;
      return true;
    }
    return false;
  }

  decode(): Cbor {
    const head = this.byte();
    const major = head >> 5;
    const info = head & 31;
    switch (major) {
      case 0:
        return this.arg(info);
      case 1: {
        const n = this.arg(info);
        return typeof n === 'bigint' ? -1n - n : -1 - n;
      }
      case 2:
      case 3: {
        let raw: Buffer;
        if (info === 31) {
          const parts: Buffer[] = [];
          while (!this.isBreak()) {
            const part = this.decode();
            if (!Buffer.isBuffer(part) && typeof part !== 'string') {
              throw new Error('CBOR: bad chunk');
            }
            parts.push(Buffer.isBuffer(part) ? part : Buffer.from(part, 'utf8'));
          }
          raw = Buffer.concat(parts);
        } else raw = Buffer.from(this.bytes(this.length(info)));
        return major === 2 ? raw : raw.toString('utf8');
      }
      case 4: {
        const out: Cbor[] = [];
        if (info === 31) while (!this.isBreak()) out.push(this.decode());
        else for (let n = this.length(info); n > 0; n--) out.push(this.decode());
        return out;
      }
      case 5: {
        const out = new Map<Cbor, Cbor>();
        const pair = () => {
          const k = this.decode();
          out.set(k, this.decode());
        };
        if (info === 31) while (!this.isBreak()) pair();
        else for (let n = this.length(info); n > 0; n--) pair();
        return out;
      }
      case 6: {
        const tag = this.arg(info);
        return new Tagged(Number(tag), this.decode());
      }
      default:
        return this.simple(info);
    }
  }

  private simple(info: number): Cbor {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        return halfFloat(this.bytes(2).readUInt16BE(0));
      case 26:
        return this.bytes(4).readFloatBE(0);
      case 27:
        return this.bytes(8).readDoubleBE(0);
      default:
        throw new Error(`CBOR: unsupported simple value ${info}`);
    }
  }
}

function halfFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (mant / 1024);
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + mant / 1024);
}

/** Decodes every value of a byte string that holds several in a row. */
export function decodeAll(buf: Buffer): Cbor[] {
  const r = new CborReader(buf);
  const out: Cbor[] = [];
  while (!r.done) out.push(r.decode());
  return out;
}

export function decodeOne(buf: Buffer): Cbor {
  return new CborReader(buf).decode();
}

/** Appends CBOR values; encoded() returns the bytes so far. */
export class CborWriter {
  private parts: Buffer[] = [];

  encoded(): Buffer {
    return Buffer.concat(this.parts);
  }

  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }

  private head(major: number, n: number | bigint): this {
    const m = major << 5;
    if (typeof n === 'bigint' || n > 0xffffffff) {
      const b = Buffer.alloc(9);
      b[0] = m | 27;
      b.writeBigUInt64BE(BigInt(n), 1);
      return this.raw(b);
    }
    if (n < 24) return this.raw(Buffer.from([m | n]));
    if (n <= 0xff) return this.raw(Buffer.from([m | 24, n]));
    if (n <= 0xffff) {
      const b = Buffer.alloc(3);
      b[0] = m | 25;
      b.writeUInt16BE(n, 1);
      return this.raw(b);
    }
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(n, 1);
    return this.raw(b);
  }

  int(n: number | bigint): this {
    if (typeof n === 'bigint') {
      if (n >= 0n && n < 1n << 64n) return this.head(0, n);
      if (n < 0n && -1n - n < 1n << 64n) return this.head(1, -1n - n);
      // Beyond 64 bits: a bignum (tag 2 or 3 over the big-endian magnitude).
      const neg = n < 0n;
      let hex = (neg ? -1n - n : n).toString(16);
      if (hex.length % 2) hex = '0' + hex;
      return this.tag(neg ? 3 : 2).bytes(Buffer.from(hex, 'hex'));
    }
    return n >= 0 ? this.head(0, n) : this.head(1, -1 - n);
  }

  text(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.head(3, b.length).raw(b);
  }

  bytes(b: Buffer): this {
    return this.head(2, b.length).raw(b);
  }

  /** A float64, or an integer when the number is one. */
  float(n: number): this {
    if (Number.isSafeInteger(n)) return this.int(n);
    const b = Buffer.alloc(9);
    b[0] = 0xfb;
    b.writeDoubleBE(n, 1);
    return this.raw(b);
  }

  bool(v: boolean): this {
    return this.raw(Buffer.from([v ? 0xf5 : 0xf4]));
  }

  null(): this {
    return this.raw(Buffer.from([0xf6]));
  }

  array(n: number): this {
    return this.head(4, n);
  }

  map(n: number): this {
    return this.head(5, n);
  }

  tag(t: number): this {
    return this.head(6, t);
  }
}
