// A parsed statement becomes one request of an existing action (GetItem, Query,
// Scan, PutItem, UpdateItem, DeleteItem), its WHERE and SET clauses the same
// condition and update trees tables/expressions/ builds, written back as
// expressions with placeholders for every name and value. Running the ordinary
// action keeps one code path for validation, evaluation, indexes, capacity and the
// engines' consistency, as DynamoDB Local's PartiQL does; the rules here are the
// ones PartiQL adds: which conditions are the key, the full key for writes, the
// implicit existence checks of INSERT and UPDATE.
import { validation } from '../errors.ts';
import type {
  Condition,
  Operand,
  PathNode,
  UpdateExpression,
  UpdateOperand,
  ValueNode,
} from '../expressions/ast.ts';
import type { IndexMeta, TableMeta } from '../storage/engine.ts';
import { typeOf, valuesEqual, type AttributeValue, type Item, type KeySchema } from '../values.ts';
import type { Expr, PathElems, Returning, SelectStatement, Statement } from './parser.ts';

export type ActionName = 'GetItem' | 'Query' | 'Scan' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

export interface Plan {
  action: ActionName;
  request: Record<string, unknown>;
  /** SELECT's listed paths, which name the attributes of each returned item. */
  projection?: PathElems[];
  /** An INSERT: its failed condition is DuplicateItemException. */
  insert?: boolean;
}

/** Where a statement runs: alone, in BatchExecuteStatement or in ExecuteTransaction. */
export type Use = 'statement' | 'batch' | 'transaction';

// ---- PartiQL expressions into the API's trees

const path = (elems: PathElems): PathNode => {
  if (typeof elems[0] !== 'string') throw validation('A path cannot start with a list index');
  return { kind: 'path', elems };
};

function operand(e: Expr): Operand {
  switch (e.kind) {
    case 'path':
      return path(e.elems);
    case 'value':
      return { kind: 'value', value: e.value };
    case 'missing':
      throw validation('MISSING must be compared using IS operator');
    case 'call':
      if (e.name === 'size') {
        const arg = e.args[0];
        if (e.args.length !== 1 || arg?.kind !== 'path') {
          throw validation('Unsupported operation: size');
        }
        return { kind: 'size', arg: path(arg.elems) };
      }
      throw validation(`Unrecognized function: ${e.name}`);
    default:
      throw validation(`Unsupported operator in Condition Expression. Operator: ${opName(e)}`);
  }
}

function opName(e: Expr): string {
  return e.kind === 'binary' ? e.op : e.kind.toUpperCase();
}

const isTypes: Record<string, string> = {
  NULL: 'NULL',
  BOOLEAN: 'BOOL',
  BOOL: 'BOOL',
  BLOB: 'B',
  STRING: 'S',
  VARCHAR: 'S',
  NUMERIC: 'N',
  DECIMAL: 'N',
  DEC: 'N',
  INT: 'N',
  INTEGER: 'N',
  FLOAT: 'N',
  STRUCT: 'M',
  TUPLE: 'M',
  LIST: 'L',
};

export function condition(e: Expr): Condition {
  switch (e.kind) {
    case 'binary':
      switch (e.op) {
        case 'AND':
        case 'OR':
          return {
            kind: e.op === 'AND' ? 'and' : 'or',
            left: condition(e.left),
            right: condition(e.right),
          };
        case '+':
        case '-':
          throw validation('WHERE clause must contain an expression that resolves to a boolean');
        default:
          return { kind: 'compare', op: e.op, left: operand(e.left), right: operand(e.right) };
      }
    case 'not':
      return { kind: 'not', arg: condition(e.arg) };
    case 'between':
      return { kind: 'between', arg: operand(e.arg), low: operand(e.low), high: operand(e.high) };
    case 'in':
      if (e.arg.kind !== 'path' || !e.list.length) {
        throw validation(
          'IN operator must have a left hand argument of type Variable Reference and right hand argument of type Seq with at least one member',
        );
      }
      return { kind: 'in', arg: operand(e.arg), list: e.list.map(operand) };
    case 'is': {
      if (e.arg.kind !== 'path') {
        throw validation(
          'The left hand side argument to IS must be a Variable Reference, Literal, or Path',
        );
      }
      const p = path(e.arg.elems);
      let c: Condition;
      if (e.type === 'MISSING') {
        c = { kind: e.not ? 'attribute_exists' : 'attribute_not_exists', path: p };
        return c;
      }
      const type = isTypes[e.type];
      if (!type) {
        throw validation(
          `Unsupported data type for IS operator: ${e.type}. Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]`,
        );
      }
      c = { kind: 'attribute_type', path: p, type: { kind: 'value', value: { S: type } } };
      return e.not ? { kind: 'not', arg: c } : c;
    }
    case 'call':
      return callCondition(e.name, e.args);
    default:
      throw validation('WHERE clause must contain an expression that resolves to a boolean');
  }
}

function callCondition(name: string, args: Expr[]): Condition {
  const arity = (n: number) => {
    if (args.length !== n) throw validation(`Incorrect number of arguments for ${name}`);
  };
  switch (name) {
    case 'attribute_exists':
    case 'attribute_not_exists': {
      arity(1);
      const a = args[0]!;
      if (a.kind !== 'path') throw validation(`Unsupported argument to ${name}`);
      return { kind: name, path: path(a.elems) };
    }
    case 'attribute_type': {
      arity(2);
      const [a, t] = args;
      if (a!.kind !== 'path') throw validation(`Unsupported argument to ${name}`);
      return { kind: name, path: path(a!.elems), type: operand(t!) };
    }
    case 'begins_with':
    case 'contains':
      arity(2);
      return { kind: name, left: operand(args[0]!), right: operand(args[1]!) };
    default:
      throw validation(`Unrecognized function: ${name}`);
  }
}

function updateOperand(e: Expr): UpdateOperand {
  switch (e.kind) {
    case 'path':
      return path(e.elems);
    case 'value':
      return { kind: 'value', value: e.value };
    case 'binary':
      if (e.op === '+' || e.op === '-') {
        return { kind: e.op, left: updateOperand(e.left), right: updateOperand(e.right) };
      }
      throw validation(`Unsupported operator in Update Expression. Operator: ${e.op}`);
    case 'call':
      if (e.name === 'list_append' && e.args.length === 2) {
        return {
          kind: 'list_append',
          left: updateOperand(e.args[0]!),
          right: updateOperand(e.args[1]!),
        };
      }
      if (e.name === 'if_not_exists' && e.args.length === 2 && e.args[0]!.kind === 'path') {
        return {
          kind: 'if_not_exists',
          path: path(e.args[0]!.elems),
          fallback: updateOperand(e.args[1]!),
        };
      }
      throw validation(`Unrecognized function: ${e.name}`);
    case 'is':
      throw validation('IS operator is not supported in update expressions');
    default:
      throw validation(`Unsupported operator in Update Expression. Operator: ${opName(e)}`);
  }
}

function updateExpression(
  actions: Extract<Statement, { kind: 'update' }>['actions'],
): UpdateExpression {
  const u: UpdateExpression = { set: [], remove: [], add: [], delete: [] };
  for (const a of actions) {
    const target = path(a.path);
    if (a.kind === 'remove') {
      u.remove.push(target);
      continue;
    }
    const v = a.value;
    if (v.kind === 'call' && (v.name === 'set_add' || v.name === 'set_delete')) {
      const op = v.name.slice(4).toUpperCase();
      if (v.args.length !== 2) throw validation(`SET_${op} must have exactly two arguments`);
      const [first, second] = v.args;
      if (first!.kind !== 'path' || JSON.stringify(first!.elems) !== JSON.stringify(a.path)) {
        throw validation(`The first argument to SET_${op} must equal the assignment value`);
      }
      const set = second!.kind === 'value' ? second!.value : undefined;
      if (!set || !(set.SS || set.NS || set.BS)) {
        throw validation(`The second argument to SET_${op} must be a value with type SET`);
      }
      const value: ValueNode = { kind: 'value', value: set };
      (op === 'ADD' ? u.add : u.delete).push({ path: target, value });
      continue;
    }
    u.set.push({ path: target, value: updateOperand(v) });
  }
  return u;
}

// ---- the trees written back as expressions

/** Builds one request's expressions, naming every path element and value. */
export class ExpressionWriter {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private readonly nameOf = new Map<string, string>();
  private valueCount = 0;

  private name(n: string): string {
    let id = this.nameOf.get(n);
    if (!id) {
      id = `#n${this.nameOf.size}`;
      this.nameOf.set(n, id);
      this.names[id] = n;
    }
    return id;
  }

  private value(v: AttributeValue): string {
    const id = `:v${this.valueCount++}`;
    this.values[id] = v;
    return id;
  }

  path(p: PathNode): string {
    return p.elems
      .map((e, i) => (typeof e === 'number' ? `[${e}]` : (i ? '.' : '') + this.name(e)))
      .join('');
  }

  private operand(o: Operand): string {
    if (o.kind === 'path') return this.path(o);
    if (o.kind === 'value') return this.value(o.value);
    return `size(${this.operand(o.arg)})`;
  }

  condition(c: Condition): string {
    const group = (x: Condition, parent: 'and' | 'or' | 'not') =>
      (parent === 'not' && x.kind !== 'compare') || (parent === 'and' && x.kind === 'or')
        ? `(${this.condition(x)})`
        : this.condition(x);
    switch (c.kind) {
      case 'and':
      case 'or':
        return `${group(c.left, c.kind)} ${c.kind.toUpperCase()} ${group(c.right, c.kind)}`;
      case 'not':
        return `NOT ${group(c.arg, 'not')}`;
      case 'compare':
        return `${this.operand(c.left)} ${c.op} ${this.operand(c.right)}`;
      case 'between':
        return `${this.operand(c.arg)} BETWEEN ${this.operand(c.low)} AND ${this.operand(c.high)}`;
      case 'in':
        return `${this.operand(c.arg)} IN (${c.list.map((o) => this.operand(o)).join(', ')})`;
      case 'attribute_exists':
      case 'attribute_not_exists':
        return `${c.kind}(${this.path(c.path)})`;
      case 'attribute_type':
        return `attribute_type(${this.path(c.path)}, ${this.operand(c.type)})`;
      case 'begins_with':
      case 'contains':
        return `${c.kind}(${this.operand(c.left)}, ${this.operand(c.right)})`;
    }
  }

  private updateOperand(o: UpdateOperand): string {
    switch (o.kind) {
      case 'path':
        return this.path(o);
      case 'value':
        return this.value(o.value);
      case 'if_not_exists':
        return `if_not_exists(${this.path(o.path)}, ${this.updateOperand(o.fallback)})`;
      case 'list_append':
        return `list_append(${this.updateOperand(o.left)}, ${this.updateOperand(o.right)})`;
      case '+':
      case '-':
        return `${this.updateOperand(o.left)} ${o.kind} ${this.updateOperand(o.right)}`;
    }
  }

  update(u: UpdateExpression): string {
    const parts: string[] = [];
    const clause = (word: string, items: string[]) => {
      if (items.length) parts.push(`${word} ${items.join(', ')}`);
    };
    clause(
      'SET',
      u.set.map((s) => `${this.path(s.path)} = ${this.updateOperand(s.value)}`),
    );
    clause(
      'REMOVE',
      u.remove.map((p) => this.path(p)),
    );
    clause(
      'ADD',
      u.add.map((a) => `${this.path(a.path)} ${this.value(a.value.value)}`),
    );
    clause(
      'DELETE',
      u.delete.map((d) => `${this.path(d.path)} ${this.value(d.value.value)}`),
    );
    return parts.join(' ');
  }

  /** The placeholder maps, on a request that uses any. */
  into(req: Record<string, unknown>): Record<string, unknown> {
    if (Object.keys(this.names).length) req.ExpressionAttributeNames = this.names;
    if (this.valueCount) req.ExpressionAttributeValues = this.values;
    return req;
  }
}

// ---- key extraction

function conjuncts(c: Condition | undefined): Condition[] {
  if (!c) return [];
  return c.kind === 'and' ? [...conjuncts(c.left), ...conjuncts(c.right)] : [c];
}

function allOf(cs: Condition[]): Condition | undefined {
  return cs.reduce<Condition | undefined>(
    (acc, c) => (acc ? { kind: 'and', left: acc, right: c } : c),
    undefined,
  );
}

/** The key attribute a top-level path names, if any. */
function keyName(o: Operand, names: string[]): string | undefined {
  return o.kind === 'path' && o.elems.length === 1 && names.includes(o.elems[0] as string)
    ? (o.elems[0] as string)
    : undefined;
}

/** `key = value` (either side) as [name, value]. */
function keyEquality(c: Condition, names: string[]): [string, AttributeValue] | undefined {
  if (c.kind !== 'compare' || c.op !== '=') return undefined;
  const l = keyName(c.left, names);
  if (l && c.right.kind === 'value') return [l, c.right.value];
  const r = keyName(c.right, names);
  if (r && c.left.kind === 'value') return [r, c.left.value];
  return undefined;
}

const keyNamesOf = (schema: KeySchema) =>
  [schema.hash.name, schema.range?.name].filter((n): n is string => n !== undefined);

function checkKeyValue(schema: KeySchema, name: string, v: AttributeValue): void {
  const t = typeOf(v);
  if (t !== 'S' && t !== 'N' && t !== 'B') {
    throw validation(`Key value must be of type S, N, or B. Key name: ${name}, Key type: ${t}`);
  }
  const def = schema.hash.name === name ? schema.hash : schema.range!;
  if (def.type !== t) {
    throw validation(
      `Key attribute's data type should match its data type in table's schema: Key ${name}`,
    );
  }
}

/**
 * A single-item statement's key: an equality on every key attribute among the
 * WHERE's top-level conjuncts; the other conjuncts are left as a condition.
 */
function extractKey(
  schema: KeySchema,
  where: Condition | undefined,
  missing = 'Where clause does not contain a mandatory equality on all key attributes',
): { key: Item; rest: Condition[] } {
  const names = keyNamesOf(schema);
  const key: Item = {};
  const rest: Condition[] = [];
  for (const c of conjuncts(where)) {
    const eq = keyEquality(c, names);
    if (!eq) {
      rest.push(c);
      continue;
    }
    const [name, v] = eq;
    if (key[name] && !valuesEqual(key[name], v)) {
      throw validation(
        `Multiple conditions on same key ${name}. Only single item Update/Insert/Delete are supported`,
      );
    }
    key[name] = v;
  }
  if (!names.every((n) => key[n])) throw validation(missing);
  for (const n of names) checkKeyValue(schema, n, key[n]!);
  return { key, rest };
}

/** Whether a condition reads a top-level key attribute (Query refuses those in a filter). */
function readsKey(c: Condition, names: string[]): boolean {
  const o = (x: Operand): boolean =>
    x.kind === 'path' ? keyName(x, names) !== undefined : x.kind === 'size' && o(x.arg);
  switch (c.kind) {
    case 'and':
    case 'or':
      return readsKey(c.left, names) || readsKey(c.right, names);
    case 'not':
      return readsKey(c.arg, names);
    case 'compare':
    case 'begins_with':
    case 'contains':
      return o(c.left) || o(c.right);
    case 'between':
      return o(c.arg) || o(c.low) || o(c.high);
    case 'in':
      return o(c.arg) || c.list.some(o);
    case 'attribute_exists':
    case 'attribute_not_exists':
    case 'attribute_type':
      return o(c.path);
  }
}

/**
 * SELECT's key conditions: one equality on the hash key and at most one range
 * condition among the top-level conjuncts, the rest a filter; undefined when the
 * WHERE has no such shape, and the SELECT is then a Scan with the whole WHERE as
 * its filter (DynamoDB reads the same items either way).
 */
function queryShape(
  schema: KeySchema,
  where: Condition,
): { keys: Condition[]; filter: Condition[] } | undefined {
  // A multi-attribute GSI key is read by a Scan with the WHERE as its filter.
  if (schema.hashes || schema.ranges) return undefined;
  const names = keyNamesOf(schema);
  const keys: Condition[] = [];
  const filter: Condition[] = [];
  let hash = false;
  let range = false;
  for (const c of conjuncts(where)) {
    const eq = keyEquality(c, [schema.hash.name]);
    if (eq) {
      if (hash) return undefined;
      hash = true;
      keys.push(c);
      continue;
    }
    if (schema.range && isRangeCondition(c, schema.range.name)) {
      if (range) return undefined;
      range = true;
      keys.push(c);
      continue;
    }
    filter.push(c);
  }
  if (!hash || filter.some((c) => readsKey(c, names))) return undefined;
  return { keys, filter };
}

function isRangeCondition(c: Condition, name: string): boolean {
  const isKey = (o: Operand) => keyName(o, [name]) !== undefined;
  switch (c.kind) {
    case 'compare':
      return (
        c.op !== '<>' &&
        ((isKey(c.left) && c.right.kind === 'value') || (isKey(c.right) && c.left.kind === 'value'))
      );
    case 'between':
      return isKey(c.arg) && c.low.kind === 'value' && c.high.kind === 'value';
    case 'begins_with':
      return isKey(c.left) && c.right.kind === 'value';
    default:
      return false;
  }
}

// ---- statements

function requireIndex(meta: TableMeta, name: string): IndexMeta {
  const index = meta.indexes?.find((i) => i.name === name);
  if (!index) throw validation(`The table does not have the specified index: ${name}`);
  return index;
}

function select(s: SelectStatement, meta: TableMeta, use: Use): Plan {
  const w = new ExpressionWriter();
  const where = s.where && condition(s.where);
  const projection = s.projection?.map(path);
  const request: Record<string, unknown> = { TableName: meta.name };
  if (projection) request.ProjectionExpression = projection.map((p) => w.path(p)).join(', ');
  const plan = (action: ActionName): Plan => ({
    action,
    request: w.into(request),
    projection: s.projection,
  });

  if (use !== 'statement') {
    if (s.index !== undefined && use === 'transaction') {
      throw validation('Reads on indices are not supported within transactions.');
    }
    const refused =
      use === 'transaction'
        ? 'Select statements within ExecuteTransaction must specify the primary key in the where clause.'
        : 'Only single item select is supported';
    let found: { key: Item; rest: Condition[] };
    try {
      found = extractKey(meta.schema, where, refused);
    } catch (err) {
      throw s.index === undefined ? err : validation(refused);
    }
    if (found.rest.length || s.index !== undefined) throw validation(refused);
    request.Key = found.key;
    return plan('GetItem');
  }

  const index = s.index === undefined ? undefined : requireIndex(meta, s.index);
  if (index) request.IndexName = index.name;
  const schema = index?.schema ?? meta.schema;
  const shape = where && queryShape(schema, where);
  if (s.orderBy) {
    if (!where) {
      throw validation('Must have WHERE clause in the statement when using ORDER BY clause.');
    }
    if (!shape) {
      throw validation(
        'Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.',
      );
    }
    for (const o of s.orderBy) {
      const name = o.elems.length === 1 ? o.elems[0] : undefined;
      if (typeof name !== 'string' || !keyNamesOf(schema).includes(name)) {
        throw validation(
          `Variable reference ${String(o.elems[0])} in ORDER BY clause must be part of the primary key`,
        );
      }
      if (name === schema.range?.name) request.ScanIndexForward = !o.desc;
    }
  }
  if (shape) {
    request.KeyConditionExpression = w.condition(allOf(shape.keys)!);
    const filter = allOf(shape.filter);
    if (filter) request.FilterExpression = w.condition(filter);
    return plan('Query');
  }
  if (where) request.FilterExpression = w.condition(where);
  return plan('Scan');
}

function checkTableName(name: string): void {
  if (name.length < 3 || name.length > 255 || !/^[a-zA-Z0-9_.-]+$/.test(name)) {
    throw validation(
      "Table name should be within the length [3, 255] and only contain 'a-z', 'A-Z', '0-9', '-', '_', '.'.",
    );
  }
}

/** The table a statement names (for the lookup before translate). */
export function tableOf(s: Statement): string {
  const name = s.kind === 'exists' ? s.select.table : s.table;
  checkTableName(name);
  return name;
}

/**
 * A write statement as the trees of one item action: Put (INSERT), Update,
 * Delete, or ConditionCheck (a transaction's EXISTS). `item` is the whole item
 * of a Put and the key otherwise.
 */
export interface Write {
  kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
  item: Item;
  update?: UpdateExpression;
  condition?: Condition;
  returning?: Returning;
}

const returningWords: Record<Returning, string> = {
  ALL_OLD: 'ALL OLD *',
  ALL_NEW: 'ALL NEW *',
  UPDATED_OLD: 'MODIFIED OLD *',
  UPDATED_NEW: 'MODIFIED NEW *',
};

export function writeOf(s: Exclude<Statement, SelectStatement>, meta: TableMeta): Write {
  const hash = path([meta.schema.hash.name]);
  switch (s.kind) {
    case 'insert':
      return { kind: 'Put', item: s.item, condition: { kind: 'attribute_not_exists', path: hash } };
    case 'exists': {
      if (s.select.index !== undefined) {
        throw validation('Operations on indices are not supported in transactions');
      }
      const where = s.select.where && condition(s.select.where);
      const { key, rest } = extractKey(
        meta.schema,
        where,
        'EXISTS() must contain a single item read with additional condition',
      );
      const exists: Condition = { kind: 'attribute_exists', path: hash };
      return { kind: 'ConditionCheck', item: key, condition: allOf([exists, ...rest]) };
    }
    case 'update': {
      const where = s.where && condition(s.where);
      const { key, rest } = extractKey(meta.schema, where);
      // UPDATE changes an item that exists: it never creates one.
      const exists: Condition = { kind: 'attribute_exists', path: hash };
      return {
        kind: 'Update',
        item: key,
        update: updateExpression(s.actions),
        condition: allOf([exists, ...rest]),
        returning: s.returning,
      };
    }
    case 'delete': {
      if (s.returning && s.returning !== 'ALL_OLD') {
        throw validation(
          `Invalid returning clause: RETURNING ${returningWords[s.returning]}. Only RETURNING ALL OLD * is allowed in DELETE statements.`,
        );
      }
      const where = s.where && condition(s.where);
      const { key, rest } = extractKey(meta.schema, where);
      return { kind: 'Delete', item: key, condition: allOf(rest), returning: s.returning };
    }
  }
}

/** A transaction's SELECT: one item by its whole key, with its listed paths. */
export function getOf(s: SelectStatement, meta: TableMeta): { key: Item; projection?: PathNode[] } {
  const plan = select(s, meta, 'transaction');
  return { key: plan.request.Key as Item, projection: s.projection?.map(path) };
}

const writeActions = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem' } as const;

export function translate(s: Statement, meta: TableMeta, use: Use): Plan {
  if (s.kind === 'select') return select(s, meta, use);
  if (s.kind === 'exists') {
    throw validation('EXISTS can only be used in ExecuteTransaction write requests.');
  }
  const write = writeOf(s, meta);
  const w = new ExpressionWriter();
  const request: Record<string, unknown> = { TableName: meta.name };
  request[write.kind === 'Put' ? 'Item' : 'Key'] = write.item;
  if (write.update) request.UpdateExpression = w.update(write.update);
  if (write.condition) request.ConditionExpression = w.condition(write.condition);
  if (write.returning) request.ReturnValues = write.returning;
  const action = writeActions[write.kind as keyof typeof writeActions];
  return { action, request: w.into(request), ...(write.kind === 'Put' && { insert: true }) };
}

/**
 * SELECT's answer names each listed path by its last attribute name and the
 * list indexes after it (`a.b[1]` is `b[1]`), at the top level of the item, as
 * DynamoDB does. `item` is already projected, so list positions are compacted.
 */
export function unnest(item: Item, paths: PathElems[]): Item {
  interface Node {
    children: Map<string | number, Node>;
  }
  const root: Node = { children: new Map() };
  for (const p of paths) {
    let n = root;
    for (const e of p) {
      let c = n.children.get(e);
      if (!c) {
        c = { children: new Map() };
        n.children.set(e, c);
      }
      n = c;
    }
  }
  const out: Item = {};
  const walk = (v: AttributeValue, node: Node, name: string): void => {
    const indexes = [...node.children.keys()]
      .filter((k): k is number => typeof k === 'number')
      .sort((a, b) => a - b);
    indexes.forEach((idx, pos) => {
      const child = v.L?.[pos];
      if (child) visit(child, node.children.get(idx)!, `${name}[${idx}]`);
    });
    for (const [k, c] of node.children) {
      if (typeof k !== 'string') continue;
      const child = v.M?.[k];
      if (child) visit(child, c, k);
    }
  };
  const visit = (v: AttributeValue, node: Node, name: string) => {
    if (node.children.size === 0) out[name] = v;
    else walk(v, node, name);
  };
  walk({ M: item }, root, '');
  return out;
}
