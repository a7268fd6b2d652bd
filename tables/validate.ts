// Declarative request validation, as DynamoDB does it in two passes: first every
// field's JSON type (SerializationException), then the member constraints, reported
// together as "N validation errors detected: …" (at most 10). Each action declares
// its fields beside its code; checks that span fields live in the action.
import { serialization, validation } from './errors.ts';

export interface Field {
  type: 'String' | 'Boolean' | 'Integer' | 'Long' | 'AttrMap' | 'Attr' | 'List' | 'Map' | 'Struct';
  notNull?: boolean;
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
export const returnConsumedCapacity: Field = { type: 'String', enum: ['INDEXES', 'TOTAL', 'NONE'] };
export const returnItemCollectionMetrics: Field = { type: 'String', enum: ['SIZE', 'NONE'] };
export const attrMap: Field = { type: 'AttrMap' };
export const stringMap: Field = { type: 'Map', items: { type: 'String' } };
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
  items: {
    type: 'Struct',
    fields: {
      AttributeValueList: { type: 'List', items: { type: 'Attr' } },
      ComparisonOperator: { ...comparisonOperator, notNull: true },
    },
  },
};
export const expected: Field = {
  type: 'Map',
  items: {
    type: 'Struct',
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

function kindOf(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'TRUE_VALUE' : 'FALSE_VALUE';
  if (typeof v === 'number') return Number.isInteger(v) ? 'NUMBER_VALUE' : 'DECIMAL_VALUE';
  return 'STRING_VALUE';
}

function checkType(v: unknown, f: Field): void {
  if (v === null || v === undefined) return;
  const isObj = typeof v === 'object' && !Array.isArray(v);
  switch (f.type) {
    case 'String':
      if (typeof v === 'string') return;
      if (Array.isArray(v))
        throw serialization('Unrecognized collection type class java.lang.String');
      if (isObj) throw serialization('Start of structure or map found where not expected');
      throw serialization(`${kindOf(v)} cannot be converted to String`);
    case 'Boolean':
      if (typeof v === 'boolean') return;
      if (Array.isArray(v))
        throw serialization('Unrecognized collection type class java.lang.Boolean');
      if (isObj) throw serialization('Start of structure or map found where not expected');
      throw serialization(`${kindOf(v)} cannot be converted to Boolean`);
    case 'Integer':
    case 'Long':
      if (typeof v === 'number') return;
      if (Array.isArray(v))
        throw serialization(`Unrecognized collection type class java.lang.${f.type}`);
      if (isObj) throw serialization('Start of structure or map found where not expected');
      throw serialization(`${kindOf(v)} cannot be converted to ${f.type}`);
    case 'List':
      if (!Array.isArray(v)) {
        if (isObj) throw serialization('Start of structure or map found where not expected');
        throw serialization('Unexpected field type');
      }
      for (const e of v) checkType(e, f.items!);
      return;
    case 'Attr':
    case 'AttrMap':
    case 'Map':
    case 'Struct':
      if (!isObj) {
        if (Array.isArray(v)) {
          throw serialization(
            f.type === 'Struct' || f.type === 'Attr'
              ? 'Unrecognized collection type class com.amazonaws.dynamodb.v20120810.Structure'
              : 'Unrecognized collection type java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>',
          );
        }
        throw serialization(
          f.type === 'Attr' ? 'Unexpected value type in payload' : 'Unexpected field type',
        );
      }
      if (f.type === 'Map') for (const e of Object.values(v)) checkType(e, f.items!);
      if (f.type === 'Struct') {
        for (const [k, sub] of Object.entries(f.fields!)) {
          checkType((v as Record<string, unknown>)[k], sub);
        }
      }
      return;
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
    (v as unknown[]).forEach((e, i) => constraints(e, f.items!, `${at}.${i + 1}.member`, errors));
  }
  if (f.type === 'Map' && (f.items || f.keys)) {
    for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
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

/** Runs both passes over a request body. */
export function checkRequest(req: Record<string, unknown>, schema: Schema): void {
  for (const [k, f] of Object.entries(schema)) checkType(req[k], f);
  const errors: string[] = [];
  for (const [k, f] of Object.entries(schema)) constraints(req[k], f, lowerFirst(k), errors);
  if (errors.length) {
    throw validation(
      `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`,
    );
  }
}
