// The legacy (pre-expression) parameters, translated into the same syntax trees
// the expression parser builds, so one evaluator serves both: Expected,
// KeyConditions, QueryFilter, ScanFilter (+ ConditionalOperator), AttributeUpdates
// and AttributesToGet.
import { validation } from './errors.ts';
import type { Condition, Operand, PathNode, UpdateExpression } from './expressions/ast.ts';
import type { AttributeValue } from './values.ts';
import { checkValue, compareScalar, typeOf } from './values.ts';

interface LegacyCondition {
  ComparisonOperator?: string;
  AttributeValueList?: unknown[];
  Value?: unknown;
  Exists?: boolean;
}

const arity: Record<string, [number, number]> = {
  NULL: [0, 0],
  NOT_NULL: [0, 0],
  EQ: [1, 1],
  NE: [1, 1],
  LE: [1, 1],
  LT: [1, 1],
  GE: [1, 1],
  GT: [1, 1],
  CONTAINS: [1, 1],
  NOT_CONTAINS: [1, 1],
  BEGINS_WITH: [1, 1],
  IN: [1, Infinity],
  BETWEEN: [2, 2],
};
const allowedTypes: Record<string, string[]> = {
  EQ: ['S', 'N', 'B', 'SS', 'NS', 'BS', 'BOOL', 'NULL', 'L', 'M'],
  NE: ['S', 'N', 'B', 'SS', 'NS', 'BS', 'BOOL', 'NULL', 'L', 'M'],
  LE: ['S', 'N', 'B'],
  LT: ['S', 'N', 'B'],
  GE: ['S', 'N', 'B'],
  GT: ['S', 'N', 'B'],
  CONTAINS: ['S', 'N', 'B', 'BOOL', 'NULL'],
  NOT_CONTAINS: ['S', 'N', 'B', 'BOOL', 'NULL'],
  BEGINS_WITH: ['S', 'B'],
  IN: ['S', 'N', 'B'],
  BETWEEN: ['S', 'N', 'B'],
};

const path = (name: string): PathNode => ({ kind: 'path', elems: [name] });
const value = (v: AttributeValue): Operand => ({ kind: 'value', value: v });

function operatorCondition(name: string, op: string, values: AttributeValue[]): Condition {
  const [lo, hi] = arity[op]!;
  if (values.length < lo || values.length > hi) {
    throw validation(
      `One or more parameter values were invalid: Invalid number of argument(s) for the ${op} ComparisonOperator`,
    );
  }
  if (values.length && values.some((v) => typeOf(v) !== typeOf(values[0]!))) {
    throw validation(
      'One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type',
    );
  }
  for (const v of values) {
    if (!allowedTypes[op]!.includes(typeOf(v))) {
      throw validation(
        `One or more parameter values were invalid: ComparisonOperator ${op} is not valid for ${typeOf(v)} AttributeValue type`,
      );
    }
  }
  if (op === 'BETWEEN' && compareScalar(values[0]!, values[1]!) > 0) {
    throw validation(
      'The BETWEEN condition was provided a range where the lower bound is greater than the upper bound',
    );
  }
  const p = path(name);
  const v0 = values[0]!;
  switch (op) {
    case 'NULL':
      return { kind: 'attribute_not_exists', path: p };
    case 'NOT_NULL':
      return { kind: 'attribute_exists', path: p };
    case 'EQ':
      return { kind: 'compare', op: '=', left: p, right: value(v0) };
    case 'NE':
      return { kind: 'compare', op: '<>', left: p, right: value(v0) };
    case 'LE':
      return { kind: 'compare', op: '<=', left: p, right: value(v0) };
    case 'LT':
      return { kind: 'compare', op: '<', left: p, right: value(v0) };
    case 'GE':
      return { kind: 'compare', op: '>=', left: p, right: value(v0) };
    case 'GT':
      return { kind: 'compare', op: '>', left: p, right: value(v0) };
    case 'CONTAINS':
      return { kind: 'contains', left: p, right: value(v0) };
    case 'NOT_CONTAINS':
      return {
        kind: 'and',
        left: { kind: 'attribute_exists', path: p },
        right: { kind: 'not', arg: { kind: 'contains', left: p, right: value(v0) } },
      };
    case 'BEGINS_WITH':
      return { kind: 'begins_with', left: p, right: value(v0) };
    case 'IN':
      return { kind: 'in', arg: p, list: values.map(value) };
    default:
      return { kind: 'between', arg: p, low: value(v0), high: value(values[1]!) };
  }
}

function combine(conds: Condition[], operator: unknown): Condition | undefined {
  if (!conds.length) return undefined;
  const kind = operator === 'OR' ? 'or' : 'and';
  return conds.reduce((left, right) => ({ kind, left, right }));
}

/** ConditionalOperator joins two or more conditions; DynamoDB refuses it otherwise. */
function checkConditionalOperator(raw: unknown, operator: unknown): void {
  if (operator == null) return;
  const n = raw == null ? 0 : Object.keys(raw).length;
  if (n === 0) throw validation('ConditionalOperator cannot be used without Filter or Expected');
  if (n === 1) {
    throw validation(
      'ConditionalOperator can only be used when Filter or Expected has two or more elements',
    );
  }
}

/** KeyConditions, QueryFilter, ScanFilter. */
export function conditionsToAst(raw: unknown, operator?: unknown): Condition | undefined {
  checkConditionalOperator(raw, operator);
  if (raw == null) return undefined;
  const conds = Object.entries(raw as Record<string, LegacyCondition>).map(([name, c]) =>
    operatorCondition(
      name,
      c.ComparisonOperator!,
      (c.AttributeValueList ?? []).map((v) => checkValue(v)),
    ),
  );
  return combine(conds, operator);
}

/** Expected (PutItem, UpdateItem, DeleteItem). */
export function expectedToAst(raw: unknown, operator?: unknown): Condition | undefined {
  checkConditionalOperator(raw, operator);
  if (raw == null) return undefined;
  const conds: Condition[] = [];
  for (const [name, c] of Object.entries(raw as Record<string, LegacyCondition>)) {
    const invalid = (msg: string) =>
      validation(`One or more parameter values were invalid: ${msg}`);
    if (c.AttributeValueList !== undefined && c.Value !== undefined) {
      throw invalid(`Value and AttributeValueList cannot be used together for Attribute: ${name}`);
    }
    if (c.ComparisonOperator !== undefined) {
      if (c.Exists !== undefined) {
        throw invalid(
          `Exists and ComparisonOperator cannot be used together for Attribute: ${name}`,
        );
      }
      const list = c.AttributeValueList ?? (c.Value !== undefined ? [c.Value] : []);
      conds.push(
        operatorCondition(
          name,
          c.ComparisonOperator,
          list.map((v) => checkValue(v)),
        ),
      );
      continue;
    }
    if (c.AttributeValueList !== undefined) {
      throw invalid(
        `AttributeValueList can only be used with a ComparisonOperator for Attribute: ${name}`,
      );
    }
    const exists = c.Exists ?? true;
    if (exists && c.Value === undefined) {
      throw invalid(
        `Value must be provided when Exists is ${c.Exists ?? 'null'} for Attribute: ${name}`,
      );
    }
    if (!exists && c.Value !== undefined) {
      throw invalid(`Value cannot be used when Exists is false for Attribute: ${name}`);
    }
    conds.push(
      exists
        ? { kind: 'compare', op: '=', left: path(name), right: value(checkValue(c.Value)) }
        : { kind: 'attribute_not_exists', path: path(name) },
    );
  }
  return combine(conds, operator);
}

/** AttributeUpdates (UpdateItem). */
export function attributeUpdatesToAst(raw: unknown): UpdateExpression | undefined {
  if (raw == null) return undefined;
  const u: UpdateExpression = { set: [], remove: [], add: [], delete: [] };
  for (const [name, upd] of Object.entries(
    raw as Record<string, { Action?: string; Value?: unknown }>,
  )) {
    const action = upd.Action ?? 'PUT';
    const v = upd.Value == null ? undefined : checkValue(upd.Value);
    const invalid = (msg: string) =>
      validation(`One or more parameter values were invalid: ${msg}`);
    if (!v) {
      if (action !== 'DELETE')
        throw invalid('Only DELETE action is allowed when no attribute value is specified');
      u.remove.push(path(name));
      continue;
    }
    const type = typeOf(v);
    if (action === 'PUT') u.set.push({ path: path(name), value: { kind: 'value', value: v } });
    else if (action === 'DELETE') {
      if (!['SS', 'NS', 'BS'].includes(type)) {
        throw invalid(`DELETE action with value is not supported for the type ${type}`);
      }
      u.delete.push({ path: path(name), value: { kind: 'value', value: v } });
    } else {
      if (!['L', 'SS', 'NS', 'BS', 'N'].includes(type)) {
        throw invalid(`ADD action is not supported for the type ${type}`);
      }
      if (type === 'L') {
        u.set.push({
          path: path(name),
          value: {
            kind: 'list_append',
            left: {
              kind: 'if_not_exists',
              path: path(name),
              fallback: { kind: 'value', value: { L: [] } },
            },
            right: { kind: 'value', value: v },
          },
        });
      } else u.add.push({ path: path(name), value: { kind: 'value', value: v } });
    }
  }
  return u;
}

/** AttributesToGet as projection paths. */
export function attributesToGetToPaths(raw: unknown): PathNode[] | undefined {
  if (raw == null) return undefined;
  const names = raw as string[];
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) {
      throw validation(
        `One or more parameter values were invalid: Duplicate value in attribute name: ${n}`,
      );
    }
    seen.add(n);
  }
  return names.map(path);
}
