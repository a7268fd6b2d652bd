// DynamoDB attribute values: validation with DynamoDB's messages, ordering,
// equality, item size, and the key bytes the storage engines index.
import {
  compareDecimal,
  decimalRangeError,
  encodeDecimalKey,
  formatDecimal,
  parseDecimal,
  type Decimal,
} from './decimal.ts';
import { serialization, validation } from './errors.ts';

export interface AttributeValue {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  L?: AttributeValue[];
  M?: Record<string, AttributeValue>;
  SS?: string[];
  NS?: string[];
  BS?: string[];
}
export type Item = Record<string, AttributeValue>;
export type ScalarType = 'S' | 'N' | 'B';
export type ValueType = keyof AttributeValue;
export const valueTypes: ValueType[] = ['S', 'N', 'B', 'BOOL', 'NULL', 'L', 'M', 'SS', 'NS', 'BS'];

export interface KeyDef {
  name: string;
  type: ScalarType;
}
export interface KeySchema {
  hash: KeyDef;
  range?: KeyDef;
  /**
   * A GSI with a multi-attribute key (up to 4 of each, DynamoDB's Nov 2025
   * keys): every partition and every sort attribute in KeySchema order; `hash`
   * and `range` are then the first of each.
   */
  hashes?: KeyDef[];
  ranges?: KeyDef[];
}

/** The partition key attributes of a key schema, in order. */
export const hashDefs = (s: KeySchema): KeyDef[] => s.hashes ?? [s.hash];

/** The sort key attributes of a key schema, in order. */
export const rangeDefs = (s: KeySchema): KeyDef[] => s.ranges ?? (s.range ? [s.range] : []);

/** Every key attribute of a key schema. */
export const keyDefs = (s: KeySchema): KeyDef[] => [...hashDefs(s), ...rangeDefs(s)];

export const maxNesting = 32;

export function typeOf(v: AttributeValue): ValueType {
  for (const t in v) return t as ValueType;
  return 'NULL';
}

function jsonKind(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'TRUE_VALUE' : 'FALSE_VALUE';
  if (typeof v === 'number') return Number.isInteger(v) ? 'NUMBER_VALUE' : 'DECIMAL_VALUE';
  return 'STRING_VALUE';
}

function expectString(v: unknown, java = 'String'): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) throw serialization(`Unrecognized collection type class java.lang.${java}`);
  if (v !== null && typeof v === 'object') {
    throw serialization('Start of structure or map found where not expected');
  }
  throw serialization(`${jsonKind(v)} cannot be converted to ${java}`);
}

function expectBlob(v: unknown): string {
  if (typeof v === 'boolean' || typeof v === 'number') {
    throw serialization('only base-64-encoded strings are convertible to bytes');
  }
  if (typeof v !== 'string') {
    if (Array.isArray(v))
      throw serialization('Unrecognized collection type class java.nio.ByteBuffer');
    throw serialization('Start of structure or map found where not expected');
  }
  if (v.length % 4) {
    throw serialization(
      `Base64 encoded length is expected a multiple of 4 bytes but found: ${v.length}`,
    );
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
    throw serialization('Invalid last non-pad Base64 character dectected');
  }
  return v;
}

function expectList(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') {
    throw serialization('Start of structure or map found where not expected');
  }
  throw serialization('Unexpected field type');
}

function normalizeNumber(text: string): string {
  if (text === '') throw validation('The parameter cannot be converted to a numeric value');
  const d = parseDecimal(text);
  if (!d) throw validation(`The parameter cannot be converted to a numeric value: ${text}`);
  const err = decimalRangeError(d);
  if (err) throw validation(err);
  return formatDecimal(d);
}

function duplicates(list: string[], key: (s: string) => string): boolean {
  const seen = new Set<string>();
  for (const s of list) {
    const k = key(s);
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

/**
 * Checks one attribute value from a request (JSON shape first: SerializationException,
 * then DynamoDB's rules: ValidationException) and returns it with numbers normalized.
 */
export function checkValue(raw: unknown, depth = 0): AttributeValue {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    if (Array.isArray(raw)) {
      throw serialization(
        'Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue',
      );
    }
    throw serialization('Unexpected value type in payload');
  }
  if (depth > maxNesting) {
    throw validation(
      'One or more parameter values were invalid: Nesting Levels have exceeded supported limits',
    );
  }
  const present = Object.entries(raw as Record<string, unknown>).filter(
    ([k, v]) => (valueTypes as string[]).includes(k) && v !== null && v !== undefined,
  );
  if (present.length === 0) {
    throw validation(
      'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes',
    );
  }
  const out: AttributeValue = {};
  for (const [type, v] of present) {
    switch (type) {
      case 'S':
        out.S = expectString(v);
        break;
      case 'N':
        out.N = normalizeNumber(expectString(v));
        break;
      case 'B':
        out.B = expectBlob(v);
        break;
      case 'BOOL':
      case 'NULL': {
        if (typeof v !== 'boolean') {
          if (typeof v === 'object') {
            throw serialization('Start of structure or map found where not expected');
          }
          throw serialization(`${jsonKind(v)} cannot be converted to Boolean`);
        }
        if (type === 'NULL' && !v) {
          throw validation(
            'One or more parameter values were invalid: Null attribute value types must have the value of true',
          );
        }
        out[type] = v;
        break;
      }
      case 'SS': {
        const list = expectList(v).map((s) => expectString(s));
        if (!list.length) {
          throw validation(
            'One or more parameter values were invalid: An string set  may not be empty',
          );
        }
        if (duplicates(list, (s) => s)) {
          throw validation(
            `One or more parameter values were invalid: Input collection [${list.join(', ')}] contains duplicates.`,
          );
        }
        out.SS = list;
        break;
      }
      case 'NS': {
        const list = expectList(v).map((s) => normalizeNumber(expectString(s)));
        if (!list.length) {
          throw validation(
            'One or more parameter values were invalid: An number set  may not be empty',
          );
        }
        if (duplicates(list, (s) => s)) throw validation('Input collection contains duplicates');
        out.NS = list;
        break;
      }
      case 'BS': {
        const list = expectList(v).map((s) => expectBlob(s));
        if (!list.length) {
          throw validation(
            'One or more parameter values were invalid: Binary sets should not be empty',
          );
        }
        if (duplicates(list, (s) => Buffer.from(s, 'base64').toString('base64'))) {
          throw validation(
            `One or more parameter values were invalid: Input collection [${list.join(', ')}]of type BS contains duplicates.`,
          );
        }
        out.BS = list;
        break;
      }
      case 'L':
        out.L = expectList(v).map((e) => checkValue(e, depth + 1));
        break;
      case 'M': {
        if (typeof v !== 'object' || Array.isArray(v)) {
          if (Array.isArray(v)) {
            throw serialization(
              'Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>',
            );
          }
          throw serialization('Unexpected field type');
        }
        const m: Record<string, AttributeValue> = {};
        for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
          m[k] = checkValue(e, depth + 1);
        }
        out.M = m;
        break;
      }
    }
  }
  if (present.length > 1) {
    throw validation(
      'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
    );
  }
  return out;
}

/** Checks a map of attribute values (Item, Key, ExpressionAttributeValues…). */
export function checkItem(raw: unknown, java = 'AttributeValue'): Item {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    if (Array.isArray(raw)) {
      throw serialization(
        `Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.${java}>`,
      );
    }
    throw serialization('Unexpected field type');
  }
  const out: Item = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    out[k] = checkValue(v);
  }
  return out;
}

export function decimalOf(v: AttributeValue): Decimal {
  return parseDecimal(v.N ?? v.S ?? '0')!;
}

export function bytesOf(v: AttributeValue): Buffer {
  return v.S !== undefined ? Buffer.from(v.S, 'utf8') : Buffer.from(v.B ?? '', 'base64');
}

/**
 * DynamoDB's order for scalar values of one type: N numerically, S by UTF-8 bytes
 * (not JavaScript's UTF-16 code-unit order, which differs above U+FFFF), B by
 * unsigned bytes.
 */
export function compareScalar(a: AttributeValue, b: AttributeValue): number {
  if (a.N !== undefined && b.N !== undefined) {
    return compareDecimal(parseDecimal(a.N)!, parseDecimal(b.N)!);
  }
  return Buffer.compare(bytesOf(a), bytesOf(b));
}

function setKey(type: ValueType, s: string): string {
  if (type === 'NS') return formatDecimal(parseDecimal(s)!);
  if (type === 'BS') return Buffer.from(s, 'base64').toString('base64');
  return s;
}

export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  const t = typeOf(a);
  if (t !== typeOf(b)) return false;
  switch (t) {
    case 'S':
      return a.S === b.S;
    case 'N':
    case 'B':
      return compareScalar(a, b) === 0;
    case 'BOOL':
      return a.BOOL === b.BOOL;
    case 'NULL':
      return true;
    case 'SS':
    case 'NS':
    case 'BS': {
      const x = a[t]!;
      const y = b[t]!;
      if (x.length !== y.length) return false;
      const keys = new Set(x.map((s) => setKey(t, s)));
      return y.every((s) => keys.has(setKey(t, s)));
    }
    case 'L':
      return a.L!.length === b.L!.length && a.L!.every((e, i) => valuesEqual(e, b.L![i]!));
    case 'M': {
      const ka = Object.keys(a.M!);
      if (ka.length !== Object.keys(b.M!).length) return false;
      return ka.every((k) => b.M![k] !== undefined && valuesEqual(a.M![k]!, b.M![k]!));
    }
  }
  return false;
}

/** Whether set `s` (SS/NS/BS) holds the scalar `e`. */
export function setHas(s: AttributeValue, e: AttributeValue): boolean {
  const t = typeOf(s);
  const list = s[t] as string[];
  const et = typeOf(e);
  if (t !== et + 'S') return false;
  const key = setKey(t, e[et] as string);
  return list.some((x) => setKey(t, x) === key);
}

export function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return Buffer.byteLength(v.B, 'base64');
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS) return v.SS.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  if (v.NS) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS) return v.BS.reduce((n, s) => n + Buffer.byteLength(s, 'base64'), 0);
  if (v.L) return v.L.reduce((n, e) => n + 1 + valueSize(e), 3);
  if (v.M) {
    return Object.entries(v.M).reduce(
      (n, [k, e]) => n + 1 + Buffer.byteLength(k, 'utf8') + valueSize(e),
      3,
    );
  }
  return 0;
}

function numberSize(n: string): number {
  const d = parseDecimal(n)!;
  return Math.ceil(d.digits.length / 2) + 1;
}

/** Item size as DynamoDB counts it: attribute names plus values, in bytes. */
export function itemSize(item: Item): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) n += Buffer.byteLength(k, 'utf8') + valueSize(v);
  return n;
}

export const maxItemSize = 400 * 1024;

/** The bytes a key attribute is indexed by: unsigned byte order = DynamoDB order. */
export function keyBytes(type: ScalarType, v: AttributeValue): Buffer {
  if (type === 'N') return encodeDecimalKey(parseDecimal(v.N!)!);
  return bytesOf(v);
}

function checkKeyValue(def: KeyDef, v: AttributeValue, inItem: boolean, range: boolean): void {
  const actual = typeOf(v);
  if (actual !== def.type) {
    throw validation(
      inItem
        ? `One or more parameter values were invalid: Type mismatch for key ${def.name} expected: ${def.type} actual: ${actual}`
        : 'The provided key element does not match the schema',
    );
  }
  if (def.type !== 'N' && bytesOf(v).length === 0) {
    const what = def.type === 'S' ? 'string' : 'binary';
    throw validation(
      `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty ${what} value. Key: ${def.name}`,
    );
  }
  const size = def.type === 'N' ? valueSize(v) : bytesOf(v).length;
  if (!range && size > 2048) {
    throw validation(
      'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes',
    );
  }
  if (range && size > 1024) {
    throw validation(
      'One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes',
    );
  }
}

/** Checks the key attributes inside a full item (PutItem). */
export function checkItemKey(schema: KeySchema, item: Item): void {
  for (const def of [schema.hash, schema.range]) {
    if (!def) continue;
    const v = item[def.name];
    if (!v) {
      throw validation(
        `One or more parameter values were invalid: Missing the key ${def.name} in the item`,
      );
    }
    checkKeyValue(def, v, true, def === schema.range);
  }
}

/** Checks a Key parameter: exactly the key attributes of the schema. */
export function checkKey(schema: KeySchema, key: Item): void {
  const names = Object.keys(key);
  const want = schema.range ? 2 : 1;
  if (
    names.length !== want ||
    !key[schema.hash.name] ||
    (schema.range && !key[schema.range.name])
  ) {
    throw validation('The provided key element does not match the schema');
  }
  checkKeyValue(schema.hash, key[schema.hash.name]!, false, false);
  if (schema.range) checkKeyValue(schema.range, key[schema.range.name]!, false, true);
}

export function keyOf(schema: KeySchema, item: Item): Item {
  const key: Item = { [schema.hash.name]: item[schema.hash.name]! };
  if (schema.range) key[schema.range.name] = item[schema.range.name]!;
  return key;
}
