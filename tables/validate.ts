// Declarative request validation, as DynamoDB does it in two passes: first every
// field's JSON type (SerializationException, the first bad member in body order),
// then the member constraints, reported together as "N validation errors
// detected: …" (at most 10). Parameters an action does not declare are dropped, as
// DynamoDB ignores them, so nothing undeclared reaches an action. Each action
// declares its fields beside its code; checks that span fields live in the action.
import { serialization, validation } from './errors.ts';

export interface Field {
  type:
    | 'String'
    | 'Boolean'
    | 'Integer'
    | 'Long'
    | 'Blob'
    | 'AttrMap'
    | 'Attr'
    | 'List'
    | 'Map'
    | 'Struct';
  /** The class DynamoDB's deserializer names for a Struct, or for a Map's values. */
  shape?: string;
  notNull?: boolean;
  /**
   * The table name of the table-management actions, which DynamoDB checks on its
   * own before the other constraints: "The parameter 'TableName' is required…".
   */
  resourceName?: boolean;
  enum?: string[];
  regex?: string;
  minLength?: number;
  maxLength?: number;
  min?: number;
  max?: number;
  /** List members, Map values. */
  items?: Field;
  /** Map keys. */
  keys?: Field;
  /** Lengths of a Map's values, reported on the map as a whole as DynamoDB does. */
  values?: { minLength?: number; maxLength?: number };
  fields?: Record<string, Field>;
}

export type Schema = Record<string, Field>;

export const tableName: Field = {
  type: 'String',
  notNull: true,
  regex: '[a-zA-Z0-9_.-]+',
  minLength: 3,
  maxLength: 255,
};
/** TableName of CreateTable, DeleteTable, DescribeTable, UpdateTable, DescribeTimeToLive. */
export const resourceTableName: Field = {
  type: 'String',
  resourceName: true,
  regex: '[a-zA-Z0-9_.-]+',
};
export const returnConsumedCapacity: Field = { type: 'String', enum: ['INDEXES', 'TOTAL', 'NONE'] };
export const returnItemCollectionMetrics: Field = { type: 'String', enum: ['SIZE', 'NONE'] };
export const attrMap: Field = { type: 'AttrMap' };
export const stringMap: Field = {
  type: 'Map',
  shape: 'java.lang.String',
  items: { type: 'String' },
};
export const expression: Field = { type: 'String' };
export const comparisonOperator: Field = {
  type: 'String',
  enum: [
    'IN',
    'NULL',
    'BETWEEN',
    'LT',
    'NOT_CONTAINS',
    'EQ',
    'GT',
    'NOT_NULL',
    'NE',
    'LE',
    'BEGINS_WITH',
    'GE',
    'CONTAINS',
  ],
};
export const condition: Field = {
  type: 'Map',
  shape: 'Condition',
  items: {
    type: 'Struct',
    shape: 'Condition',
    fields: {
      AttributeValueList: { type: 'List', items: { type: 'Attr' } },
      ComparisonOperator: { ...comparisonOperator, notNull: true },
    },
  },
};
export const expected: Field = {
  type: 'Map',
  shape: 'ExpectedAttributeValue',
  items: {
    type: 'Struct',
    shape: 'ExpectedAttributeValue',
    fields: {
      AttributeValueList: { type: 'List', items: { type: 'Attr' } },
      ComparisonOperator: comparisonOperator,
      Exists: { type: 'Boolean' },
      Value: { type: 'Attr' },
    },
  },
};
export const attributesToGet: Field = {
  type: 'List',
  minLength: 1,
  maxLength: 255,
  items: { type: 'String' },
};
export const conditionalOperator: Field = { type: 'String', enum: ['OR', 'AND'] };

const dynamoClass = (name: string) =>
  name.includes('.') ? name : `com.amazonaws.dynamodb.v20120810.${name}`;

function kindOf(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'TRUE_VALUE' : 'FALSE_VALUE';
  if (typeof v === 'number') return Number.isInteger(v) ? 'NUMBER_VALUE' : 'DECIMAL_VALUE';
  return 'STRING_VALUE';
}

const startOfMap = () => serialization('Start of structure or map found where not expected');

/** The JSON shape of an AttributeValue, as DynamoDB's deserializer reads it. */
const attrFields: Record<string, Field> = {};
const attrValue: Field = { type: 'Struct', shape: 'AttributeValue', fields: attrFields };
Object.assign(attrFields, {
  S: { type: 'String' },
  N: { type: 'String' },
  B: { type: 'Blob' },
  SS: { type: 'List', items: { type: 'String' } },
  NS: { type: 'List', items: { type: 'String' } },
  BS: { type: 'List', items: { type: 'Blob' } },
  M: { type: 'Map', shape: 'AttributeValue', items: attrValue },
  L: { type: 'List', items: attrValue },
  NULL: { type: 'Boolean' },
  BOOL: { type: 'Boolean' },
} satisfies Record<string, Field>);
const attrMapField: Field = { type: 'Map', shape: 'AttributeValue', items: attrValue };

/**
 * The first pass: a JSON value of the wrong type for its member is a
 * SerializationException with the words of DynamoDB's deserializer, which also
 * reads "true"/"false" strings as booleans and truncates fractional integers.
 * `member` tells a structure member (a "field") from a list element or map value.
 * Returns the value as the later passes see it; null means absent.
 */
function checkType(v: unknown, f: Field, member: boolean): unknown {
  if (v === null || v === undefined) return undefined;
  const isObj = typeof v === 'object' && !Array.isArray(v);
  switch (f.type) {
    case 'String':
      if (typeof v === 'string') return v;
      if (Array.isArray(v))
        throw serialization('Unrecognized collection type class java.lang.String');
      if (isObj) throw startOfMap();
      throw serialization(`${kindOf(v)} cannot be converted to String`);
    case 'Boolean':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') {
        const word = v.toUpperCase();
        if (['TRUE', '1', 'YES'].includes(word)) return true;
        if (['FALSE', '0', 'NO'].includes(word)) return false;
        throw serialization('Unexpected token received from parser');
      }
      if (Array.isArray(v))
        throw serialization('Unrecognized collection type class java.lang.Boolean');
      if (isObj) throw startOfMap();
      throw serialization(`${kindOf(v)} cannot be converted to Boolean`);
    case 'Integer':
    case 'Long':
      if (typeof v === 'number') return Math.floor(v);
      if (Array.isArray(v))
        throw serialization(`Unrecognized collection type class java.lang.${f.type}`);
      if (isObj) throw startOfMap();
      throw serialization(`${kindOf(v)} cannot be converted to ${f.type}`);
    case 'Blob':
      if (typeof v === 'string') {
        if (v.length % 4) {
          throw serialization(
            `Base64 encoded length is expected a multiple of 4 bytes but found: ${v.length}`,
          );
        }
        if (Buffer.from(v, 'base64').toString('base64') !== v) {
          throw serialization('Invalid last non-pad Base64 character dectected');
        }
        return v;
      }
      if (Array.isArray(v))
        throw serialization('Unrecognized collection type class java.nio.ByteBuffer');
      if (isObj) throw startOfMap();
      throw serialization('only base-64-encoded strings are convertible to bytes');
    case 'List':
      if (!Array.isArray(v)) {
        if (isObj) throw startOfMap();
        throw serialization('Unexpected field type');
      }
      return v.map((e) => checkType(e, f.items!, false) ?? null);
    case 'Attr':
      return checkType(v, attrValue, member);
    case 'AttrMap':
      return checkType(v, attrMapField, member);
    case 'Map': {
      if (Array.isArray(v)) {
        throw serialization(
          `Unrecognized collection type java.util.Map<java.lang.String, ${dynamoClass(f.shape ?? 'java.lang.String')}>`,
        );
      }
      if (!isObj) throw serialization('Unexpected field type');
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v)) {
        const checked = checkType(e, f.items!, false);
        if (checked !== undefined) out[k] = checked;
      }
      return out;
    }
    case 'Struct': {
      if (Array.isArray(v)) {
        throw serialization(
          `Unrecognized collection type class ${dynamoClass(f.shape ?? 'Structure')}`,
        );
      }
      if (!isObj) {
        throw serialization(member ? 'Unexpected field type' : 'Unexpected value type in payload');
      }
      // Members this schema does not describe are passed on untouched: the action
      // that reads them owns their checks.
      const out: Record<string, unknown> = { ...v };
      for (const [k, e] of Object.entries(v)) {
        const sub = f.fields![k];
        if (!sub) continue;
        const checked = checkType(e, sub, true);
        if (checked === undefined) delete out[k];
        else out[k] = checked;
      }
      return out;
    }
  }
}

function show(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v))
    return `'[${v.map((e) => (typeof e === 'object' ? JSON.stringify(e) : String(e))).join(', ')}]'`;
  if (typeof v === 'object') return `'${JSON.stringify(v)}'`;
  return `'${String(v)}'`;
}

const lowerFirst = (s: string) => s[0]!.toLowerCase() + s.slice(1);

function report(v: unknown, at: string, msg: string, errors: string[]): void {
  if (errors.length < 10)
    errors.push(`Value ${show(v)} at '${at}' failed to satisfy constraint: ${msg}`);
}

const patterns = new Map<string, RegExp>();
function pattern(source: string): RegExp {
  let re = patterns.get(source);
  if (!re) {
    re = new RegExp(`^${source}$`);
    patterns.set(source, re);
  }
  return re;
}

function constraints(v: unknown, f: Field, at: string, errors: string[]): void {
  if (v === null || v === undefined) {
    if (f.notNull) report(v, at, 'Member must not be null', errors);
    return;
  }
  const length =
    typeof v === 'string' || Array.isArray(v)
      ? v.length
      : typeof v === 'object'
        ? Object.keys(v).length
        : 0;
  if (f.regex !== undefined && !pattern(f.regex).test(v as string)) {
    report(v, at, `Member must satisfy regular expression pattern: ${f.regex}`, errors);
  }
  if (f.minLength !== undefined && length < f.minLength) {
    report(v, at, `Member must have length greater than or equal to ${f.minLength}`, errors);
  }
  if (f.maxLength !== undefined && length > f.maxLength) {
    report(v, at, `Member must have length less than or equal to ${f.maxLength}`, errors);
  }
  if (f.min !== undefined && (v as number) < f.min) {
    report(v, at, `Member must have value greater than or equal to ${f.min}`, errors);
  }
  if (f.max !== undefined && (v as number) > f.max) {
    report(v, at, `Member must have value less than or equal to ${f.max}`, errors);
  }
  if (f.enum && !f.enum.includes(v as string)) {
    report(v, at, `Member must satisfy enum value set: [${f.enum.join(', ')}]`, errors);
  }
  if (f.type === 'List' && f.items) {
    // A null inside a list is never a value: every list member must be present.
    (v as unknown[]).forEach((e, i) =>
      constraints(e, { ...f.items!, notNull: true }, `${at}.${i + 1}.member`, errors),
    );
  }
  if (f.type === 'Map' && (f.items || f.keys || f.values)) {
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
      const bounds = f.values;
      const n = Array.isArray(e) ? e.length : 0;
      if (
        bounds &&
        ((bounds.maxLength !== undefined && n > bounds.maxLength) ||
          (bounds.minLength !== undefined && n < bounds.minLength))
      ) {
        const msgs: string[] = [];
        if (bounds.maxLength !== undefined)
          msgs.push(`Member must have length less than or equal to ${bounds.maxLength}`);
        if (bounds.minLength !== undefined)
          msgs.push(`Member must have length greater than or equal to ${bounds.minLength}`);
        report(v, at, `Map value must satisfy constraint: [${msgs.join(', ')}]`, errors);
      }
      if (f.keys) {
        const keyErrors: string[] = [];
        constraints(k, f.keys, at, keyErrors);
        if (keyErrors.length) {
          const msgs: string[] = [];
          if (f.keys.maxLength !== undefined)
            msgs.push(`Member must have length less than or equal to ${f.keys.maxLength}`);
          if (f.keys.minLength !== undefined)
            msgs.push(`Member must have length greater than or equal to ${f.keys.minLength}`);
          if (f.keys.regex !== undefined)
            msgs.push(`Member must satisfy regular expression pattern: ${f.keys.regex}`);
          report(v, at, `Map keys must satisfy constraint: [${msgs.join(', ')}]`, errors);
        }
      }
      if (f.items) constraints(e, f.items, `${at}.${k}.member`, errors);
    }
  }
  if (f.type === 'Struct' && f.fields) {
    for (const [k, sub] of Object.entries(f.fields)) {
      constraints((v as Record<string, unknown>)[k], sub, `${at}.${lowerFirst(k)}`, errors);
    }
  }
}

/**
 * Runs both passes over a request body, in place: undeclared parameters are
 * removed and the declared ones replaced by their checked values.
 */
export function checkRequest(req: Record<string, unknown>, schema: Schema): void {
  for (const k of Object.keys(req)) {
    const f = Object.hasOwn(schema, k) ? schema[k] : undefined;
    const checked = f ? checkType(req[k], f, true) : undefined;
    if (checked === undefined) delete req[k];
    else req[k] = checked;
  }
  for (const [k, f] of Object.entries(schema)) {
    if (!f.resourceName) continue;
    const v = req[k] as string | undefined;
    if (v === undefined) {
      throw validation(`The parameter '${k}' is required but was not present in the request`);
    }
    if (v.length < 3 || v.length > 255) {
      throw validation(`${k} must be at least 3 characters long and at most 255 characters long`);
    }
  }
  const errors: string[] = [];
  for (const [k, f] of Object.entries(schema)) constraints(req[k], f, lowerFirst(k), errors);
  if (errors.length) {
    throw validation(
      `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`,
    );
  }
}
