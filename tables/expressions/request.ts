// Parses every expression of one request against its ExpressionAttributeNames and
// ExpressionAttributeValues, then applies DynamoDB's request-level rules: no
// mixing with legacy parameters, no empty maps, no unused names or values.
import { DynamoError, validation } from '../errors.ts';
import { checkValue, type Item } from '../values.ts';
import type { Condition, PathNode, UpdateExpression } from './ast.ts';
import {
  ExpressionError,
  parseCondition,
  parseProjection,
  parseUpdate,
  type ExpressionContext,
} from './parser.ts';

export type ExpressionParam =
  | 'UpdateExpression'
  | 'ConditionExpression'
  | 'KeyConditionExpression'
  | 'FilterExpression'
  | 'ProjectionExpression';

export interface ParsedExpressions {
  update?: UpdateExpression;
  condition?: Condition;
  keyCondition?: Condition;
  filter?: Condition;
  projection?: PathNode[];
}

type Request = Record<string, unknown>;

/** "Can not use both expression and non-expression parameters" and friends. */
export function checkExpressionParams(
  req: Request,
  expressions: ExpressionParam[],
  legacy: string[],
): void {
  const used = expressions.filter((e) => req[e] != null);
  if (used.length) {
    const legacyUsed = legacy.filter((p) => req[p] != null);
    if (legacyUsed.length) {
      throw validation(
        'Can not use both expression and non-expression parameters in the same request: ' +
          `Non-expression parameters: {${legacyUsed.join(', ')}} Expression parameters: {${used.join(', ')}}`,
      );
    }
  }
  if (req.ExpressionAttributeNames != null && !used.length) {
    throw validation('ExpressionAttributeNames can only be specified when using expressions');
  }
  const valueExprs = expressions.filter((e) => e !== 'ProjectionExpression');
  if (
    valueExprs.length &&
    req.ExpressionAttributeValues != null &&
    valueExprs.every((e) => req[e] == null)
  ) {
    throw validation(
      `ExpressionAttributeValues can only be specified when using expressions: ${valueExprs.join(' and ')} ${valueExprs.length > 1 ? 'are' : 'is'} null`,
    );
  }
}

function checkNames(raw: unknown): Record<string, string> | undefined {
  if (raw == null) return undefined;
  const names = raw as Record<string, string>;
  if (!Object.keys(names).length) throw validation('ExpressionAttributeNames must not be empty');
  for (const k of Object.keys(names)) {
    if (!/^#[0-9a-zA-Z_]+$/.test(k)) {
      throw validation(`ExpressionAttributeNames contains invalid key: Syntax error; key: "${k}"`);
    }
  }
  return names;
}

function checkValues(raw: unknown): Item | undefined {
  if (raw == null) return undefined;
  const values = raw as Record<string, unknown>;
  if (!Object.keys(values).length) throw validation('ExpressionAttributeValues must not be empty');
  for (const k of Object.keys(values)) {
    if (!/^:[0-9a-zA-Z_]+$/.test(k)) {
      throw validation(`ExpressionAttributeValues contains invalid key: Syntax error; key: "${k}"`);
    }
  }
  const out: Item = {};
  for (const [k, v] of Object.entries(values)) {
    try {
      out[k] = checkValue(v);
    } catch (err) {
      if (err instanceof DynamoError && err.type === 'ValidationException') {
        throw validation(
          `ExpressionAttributeValues contains invalid value: ${err.message} for key ${k}`,
        );
      }
      throw err;
    }
  }
  return out;
}

const expressionParams: ExpressionParam[] = [
  'UpdateExpression',
  'ConditionExpression',
  'KeyConditionExpression',
  'FilterExpression',
  'ProjectionExpression',
];

export function parseExpressions(req: Request): ParsedExpressions {
  if (
    req.ExpressionAttributeNames == null &&
    req.ExpressionAttributeValues == null &&
    expressionParams.every((p) => req[p] == null)
  ) {
    return {};
  }
  const ctx: ExpressionContext = {
    names: checkNames(req.ExpressionAttributeNames),
    values: checkValues(req.ExpressionAttributeValues),
    usedNames: new Set(),
    usedValues: new Set(),
  };
  const out: ParsedExpressions = {};
  const run = <T>(param: ExpressionParam, parse: (s: string, c: ExpressionContext) => T) => {
    const src = req[param];
    if (src == null) return undefined;
    try {
      return parse(src as string, ctx);
    } catch (err) {
      if (err instanceof ExpressionError) throw validation(`Invalid ${param}: ${err.message}`);
      throw err;
    }
  };
  out.update = run('UpdateExpression', parseUpdate);
  out.condition = run('ConditionExpression', parseCondition);
  out.keyCondition = run('KeyConditionExpression', parseCondition);
  out.filter = run('FilterExpression', parseCondition);
  out.projection = run('ProjectionExpression', parseProjection);
  const unusedNames = Object.keys(ctx.names ?? {}).filter((k) => !ctx.usedNames.has(k));
  if (unusedNames.length) {
    throw validation(
      `Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`,
    );
  }
  const unusedValues = Object.keys(ctx.values ?? {}).filter((k) => !ctx.usedValues.has(k));
  if (unusedValues.length) {
    throw validation(
      `Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`,
    );
  }
  return out;
}
