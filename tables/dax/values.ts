// DynamoDB attribute values in DAX's CBOR form, keys in DAX's key bytes, and items
// as an attribute list id plus the values of their non-key attributes.
import { randomInt } from 'node:crypto';
import { formatDecimal, parseDecimal } from '../decimal.ts';
import { validation } from '../errors.ts';
import type { AttributeValue, Item } from '../values.ts';
import { Tagged, CborReader, CborWriter, decodeAll, type Cbor } from './cbor.ts';
import { decodeLexDecimal, encodeLexDecimal } from './lexdecimal.ts';

export const TAG_STRING_SET = 3321;
export const TAG_NUMBER_SET = 3322;
export const TAG_BINARY_SET = 3323;
export const TAG_PATH_ORDINAL = 3324;

/** A table's key as the client learns it from defineKeySchema: hash first. */
export type DaxKeySchema = { name: string; type: 'S' | 'N' | 'B' }[];

const bad = (what: string) => validation(`DAX request: malformed ${what}`);

function bigintOf(v: Cbor): bigint | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'bigint') return v;
  if (v instanceof Tagged && (v.tag === 2 || v.tag === 3) && Buffer.isBuffer(v.value)) {
    const mag = v.value.length ? BigInt('0x' + v.value.toString('hex')) : 0n;
    return v.tag === 2 ? mag : -1n - mag;
  }
  return undefined;
}

/** A CBOR number (integer, bignum, float or decimal fraction) as DynamoDB's N text. */
export function numberText(v: Cbor): string | undefined {
  const int = bigintOf(v);
  if (int !== undefined) return int.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? plain(String(v)) : undefined;
  if (v instanceof Tagged && v.tag === 4 && Array.isArray(v.value) && v.value.length === 2) {
    const exp = bigintOf(v.value[0]);
    const mant = bigintOf(v.value[1]);
    if (exp === undefined || mant === undefined) return undefined;
    return plain(`${mant}e${exp}`);
  }
  return undefined;
}

function plain(text: string): string | undefined {
  const d = parseDecimal(text);
  return d && formatDecimal(d);
}

const safe = (n: bigint) =>
  n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A number as the client reads it back exactly: a plain integer when it fits 53
 * bits, else a decimal fraction (tag 4: [exponent, mantissa]), which the client
 * prints without an exponent; a bare bignum it would print as 1.2e+29.
 */
export function writeNumber(w: CborWriter, text: string): void {
  const d = parseDecimal(text);
  if (!d) throw bad('number');
  const mant = d.sign === 0 ? 0n : BigInt(d.digits) * BigInt(d.sign);
  const exp = d.exp - d.digits.length;
  const [m, e] = exp >= 0 ? [mant * 10n ** BigInt(exp), 0] : [mant, exp];
  if (e === 0 && safe(m)) {
    w.int(Number(m));
    return;
  }
  w.tag(4).array(2).int(e);
  w.int(safe(m) ? Number(m) : m);
}

export function toAttributeValue(v: Cbor): AttributeValue {
  if (typeof v === 'string') return { S: v };
  if (Buffer.isBuffer(v)) return { B: v.toString('base64') };
  if (v === null) return { NULL: true };
  if (typeof v === 'boolean') return { BOOL: v };
  if (Array.isArray(v)) return { L: v.map(toAttributeValue) };
  if (v instanceof Map) {
    const m: Record<string, AttributeValue> = {};
    for (const [k, x] of v) {
      if (typeof k !== 'string') throw bad('map key');
      m[k] = toAttributeValue(x);
    }
    return { M: m };
  }
  if (v instanceof Tagged && Array.isArray(v.value)) {
    const list = v.value;
    if (v.tag === TAG_STRING_SET) return { SS: list.map((x) => String(x)) };
    if (v.tag === TAG_BINARY_SET) {
      return { BS: list.map((x) => (Buffer.isBuffer(x) ? x : Buffer.alloc(0)).toString('base64')) };
    }
    if (v.tag === TAG_NUMBER_SET) {
      return {
        NS: list.map((x) => {
          const n = numberText(x);
          if (n === undefined) throw bad('number set');
          return n;
        }),
      };
    }
  }
  const n = numberText(v);
  if (n !== undefined) return { N: n };
  throw bad('attribute value');
}

export function writeAttributeValue(w: CborWriter, av: AttributeValue): void {
  if (av.S !== undefined) w.text(av.S);
  else if (av.N !== undefined) writeNumber(w, av.N);
  else if (av.B !== undefined) w.bytes(Buffer.from(av.B, 'base64'));
  else if (av.BOOL !== undefined) w.bool(av.BOOL);
  else if (av.NULL !== undefined) w.null();
  else if (av.L) {
    w.array(av.L.length);
    for (const x of av.L) writeAttributeValue(w, x);
  } else if (av.M) {
    const entries = Object.entries(av.M);
    w.map(entries.length);
    for (const [k, x] of entries) {
      w.text(k);
      writeAttributeValue(w, x);
    }
  } else if (av.SS) {
    w.tag(TAG_STRING_SET).array(av.SS.length);
    for (const s of av.SS) w.text(s);
  } else if (av.NS) {
    w.tag(TAG_NUMBER_SET).array(av.NS.length);
    for (const s of av.NS) writeNumber(w, s);
  } else if (av.BS) {
    w.tag(TAG_BINARY_SET).array(av.BS.length);
    for (const s of av.BS) w.bytes(Buffer.from(s, 'base64'));
  } else w.null();
}

/** The key an encoded key (the inside of the byte string) names. */
export function decodeKey(raw: Buffer, schema: DaxKeySchema): Item {
  const [hash, range] = schema;
  if (!hash) throw bad('key schema');
  const key: Item = {};
  if (!range) {
    key[hash.name] =
      hash.type === 'S'
        ? { S: raw.toString('utf8') }
        : hash.type === 'B'
          ? { B: raw.toString('base64') }
          : toAttributeValue(new CborReader(raw).decode());
    return key;
  }
  const r = new CborReader(raw);
  key[hash.name] = toAttributeValue(r.decode());
  const rest = raw.subarray(r.pos);
  key[range.name] =
    range.type === 'S'
      ? { S: rest.toString('utf8') }
      : range.type === 'B'
        ? { B: rest.toString('base64') }
        : { N: decodeLexDecimal(rest) };
  return key;
}

/** A key attribute as CBOR: the hash of a two-part key, or a numeric hash alone. */
function cborPart(av: AttributeValue): Buffer {
  const w = new CborWriter();
  if (av.S !== undefined) w.text(av.S);
  else if (av.B !== undefined) w.bytes(Buffer.from(av.B, 'base64'));
  else writeNumber(w, av.N ?? '');
  return w.encoded();
}

/** A key attribute as raw bytes: a string or binary hash alone, or any sort key. */
function rawPart(av: AttributeValue): Buffer {
  if (av.S !== undefined) return Buffer.from(av.S, 'utf8');
  if (av.B !== undefined) return Buffer.from(av.B, 'base64');
  const d = parseDecimal(av.N ?? '');
  if (!d) throw bad('key');
  return encodeLexDecimal(d);
}

export function encodeKey(item: Item, schema: DaxKeySchema): Buffer {
  const [hash, range] = schema;
  const h = hash && item[hash.name];
  if (!h) throw bad('key');
  if (!range) return h.N !== undefined ? cborPart(h) : rawPart(h);
  const r = item[range.name];
  if (!r) throw bad('key');
  return Buffer.concat([cborPart(h), rawPart(r)]);
}

/** An index key (LastEvaluatedKey / ExclusiveStartKey with IndexName): a CBOR map. */
export function encodeCompoundKey(key: Item): Buffer {
  const entries = Object.entries(key);
  const w = new CborWriter().map(entries.length);
  for (const [k, v] of entries) {
    w.text(k);
    writeAttributeValue(w, v);
  }
  return w.encoded();
}

export function decodeCompoundKey(raw: Buffer): Item {
  const av = toAttributeValue(new CborReader(raw).decode());
  if (!av.M) throw bad('index key');
  return av.M;
}

/**
 * The server's numbering of attribute name lists (defineAttributeListId). Lists live
 * as long as the process: a client learns them from the node it talks to, and
 * discovery names this node only. Each process numbers from its own random base, so
 * an id a client kept from an earlier process (or another replica) is unknown here
 * and refused, instead of naming some other list.
 */
export class AttributeLists {
  private byKey = new Map<string, number>();
  private byId = new Map<number, string[]>([[1, []]]);
  private next = 2 + randomInt(2 ** 31) * 2 ** 20;

  idOf(names: string[]): number {
    if (names.length === 0) return 1;
    const key = JSON.stringify(names);
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.next++;
      this.byKey.set(key, id);
      this.byId.set(id, names);
    }
    return id;
  }

  namesOf(id: number): string[] | undefined {
    return this.byId.get(id);
  }
}

/** The non-key attribute names of an item in DAX's canonical (sorted) order. */
export function valueNames(item: Item, schema: DaxKeySchema): string[] {
  const keys = new Set(schema.map((k) => k.name));
  return Object.keys(item)
    .filter((n) => !keys.has(n))
    .sort();
}

/** An item's values: attribute list id, then each non-key value in list order. */
export function encodeValues(item: Item, schema: DaxKeySchema, lists: AttributeLists): Buffer {
  const names = valueNames(item, schema);
  const w = new CborWriter().int(lists.idOf(names));
  for (const n of names) writeAttributeValue(w, item[n]!);
  return w.encoded();
}

export function decodeValues(raw: Buffer, lists: AttributeLists): Item {
  const [id, ...values] = decodeAll(raw);
  const names = typeof id === 'number' ? lists.namesOf(id) : undefined;
  if (!names || names.length !== values.length) {
    throw validation(`DAX request: unknown attribute list id ${String(id)}`);
  }
  const item: Item = {};
  names.forEach((n, i) => (item[n] = toAttributeValue(values[i])));
  return item;
}
