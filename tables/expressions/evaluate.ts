// Evaluates parsed expressions against items: conditions and filters, projections,
// and update expressions (which build a new item and never touch the old one).
import { addDecimal, decimalRangeError, formatDecimal, negateDecimal } from '../decimal.ts';
import { validation } from '../errors.ts';
import type { AttributeValue, Item } from '../values.ts';
import { compareScalar, decimalOf, setHas, typeOf, valuesEqual } from '../values.ts';
import type { Condition, Operand, PathNode, UpdateExpression, UpdateOperand } from './ast.ts';

export function getPath(item: Item, elems: (string | number)[]): AttributeValue | undefined {
  let cur: AttributeValue | undefined = { M: item };
  for (const e of elems) {
    if (!cur) return undefined;
    if (typeof e === 'number') cur = cur.L?.[e];
    else cur = cur.M ? cur.M[e] : undefined;
  }
  return cur;
}

function operandValue(o: Operand, item: Item): AttributeValue | undefined {
  switch (o.kind) {
    case 'value':
      return o.value;
    case 'path':
      return getPath(item, o.elems);
    case 'size': {
      const v = operandValue(o.arg, item);
      if (!v) return undefined;
      const n = sizeOf(v);
      return n === undefined ? undefined : { N: String(n) };
    }
  }
}

function sizeOf(v: AttributeValue): number | undefined {
  if (v.S !== undefined) return v.S.length;
  if (v.B !== undefined) return Buffer.byteLength(v.B, 'base64');
  const coll = v.SS ?? v.NS ?? v.BS ?? v.L;
  if (coll) return coll.length;
  if (v.M) return Object.keys(v.M).length;
  return undefined;
}

function comparable(a: AttributeValue, b: AttributeValue): boolean {
  const t = typeOf(a);
  return t === typeOf(b) && (t === 'S' || t === 'N' || t === 'B');
}

export function evaluate(c: Condition, item: Item): boolean {
  switch (c.kind) {
    case 'and':
      return evaluate(c.left, item) && evaluate(c.right, item);
    case 'or':
      return evaluate(c.left, item) || evaluate(c.right, item);
    case 'not':
      return !evaluate(c.arg, item);
    case 'attribute_exists':
      return getPath(item, c.path.elems) !== undefined;
    case 'attribute_not_exists':
      return getPath(item, c.path.elems) === undefined;
    case 'attribute_type': {
      const v = getPath(item, c.path.elems);
      const t = operandValue(c.type, item);
      return v !== undefined && t?.S === typeOf(v);
    }
    case 'begins_with': {
      const a = operandValue(c.left, item);
      const b = operandValue(c.right, item);
      if (!a || !b) return false;
      if (a.S !== undefined && b.S !== undefined) return a.S.startsWith(b.S);
      if (a.B !== undefined && b.B !== undefined) {
        const x = Buffer.from(a.B, 'base64');
        const y = Buffer.from(b.B, 'base64');
        return x.subarray(0, y.length).equals(y);
      }
      return false;
    }
    case 'contains': {
      const a = operandValue(c.left, item);
      const b = operandValue(c.right, item);
      if (!a || !b) return false;
      if (a.S !== undefined) return b.S !== undefined && a.S.includes(b.S);
      if (a.B !== undefined) {
        return b.B !== undefined && Buffer.from(a.B, 'base64').includes(Buffer.from(b.B, 'base64'));
      }
      if (a.SS || a.NS || a.BS) return setHas(a, b);
      if (a.L) return a.L.some((e) => valuesEqual(e, b));
      return false;
    }
    case 'compare': {
      const a = operandValue(c.left, item);
      const b = operandValue(c.right, item);
      if (c.op === '<>') return !a || !b || !valuesEqual(a, b);
      if (!a || !b) return false;
      if (c.op === '=') return valuesEqual(a, b);
      if (!comparable(a, b)) return false;
      const r = compareScalar(a, b);
      return c.op === '<' ? r < 0 : c.op === '<=' ? r <= 0 : c.op === '>' ? r > 0 : r >= 0;
    }
    case 'between': {
      const a = operandValue(c.arg, item);
      const lo = operandValue(c.low, item);
      const hi = operandValue(c.high, item);
      if (!a || !lo || !hi || !comparable(a, lo) || !comparable(a, hi)) return false;
      return compareScalar(a, lo) >= 0 && compareScalar(a, hi) <= 0;
    }
    case 'in': {
      const a = operandValue(c.arg, item);
      if (!a) return false;
      return c.list.some((o) => {
        const v = operandValue(o, item);
        return v !== undefined && valuesEqual(a, v);
      });
    }
  }
}

interface PathTree {
  leaf: boolean;
  children: Map<string | number, PathTree>;
}

/** The item reduced to the given paths, nested maps and lists kept in shape. */
export function project(item: Item, paths: PathNode[]): Item {
  const root: PathTree = { leaf: false, children: new Map() };
  for (const p of paths) {
    let node = root;
    for (const e of p.elems) {
      let next = node.children.get(e);
      if (!next) {
        next = { leaf: false, children: new Map() };
        node.children.set(e, next);
      }
      node = next;
    }
    node.leaf = true;
  }
  return pick({ M: item }, root)?.M ?? {};
}

function pick(v: AttributeValue, tree: PathTree): AttributeValue | undefined {
  if (tree.leaf) return v;
  if (v.M) {
    const M: Item = {};
    for (const [k, sub] of tree.children) {
      const e = typeof k === 'string' ? v.M[k] : undefined;
      const picked = e && pick(e, sub);
      if (picked) M[k as string] = picked;
    }
    return Object.keys(M).length ? { M } : undefined;
  }
  if (v.L) {
    // Projected list elements keep their relative order, not their indexes.
    const indexes = [...tree.children.keys()]
      .filter((k) => typeof k === 'number')
      .sort((a, b) => a - b);
    const L: AttributeValue[] = [];
    for (const i of indexes) {
      const e = v.L[i];
      const picked = e && pick(e, tree.children.get(i)!);
      if (picked) L.push(picked);
    }
    return L.length ? { L } : undefined;
  }
  return undefined;
}

// ---- updates

const badType = () => validation('An operand in the update expression has an incorrect data type');
const typeMismatch = () => validation('Type mismatch for attribute to update');
const badPath = () =>
  validation('The document path provided in the update expression is invalid for update');

function updateValue(o: UpdateOperand, item: Item): AttributeValue {
  switch (o.kind) {
    case 'value':
      return o.value;
    case 'path': {
      const v = getPath(item, o.elems);
      if (!v) {
        throw validation(
          'The provided expression refers to an attribute that does not exist in the item',
        );
      }
      return v;
    }
    case 'if_not_exists':
      return getPath(item, o.path.elems) ?? updateValue(o.fallback, item);
    case 'list_append': {
      const a = updateValue(o.left, item);
      const b = updateValue(o.right, item);
      if (!a.L || !b.L) throw badType();
      return { L: [...a.L, ...b.L] };
    }
    case '+':
    case '-': {
      const a = updateValue(o.left, item);
      const b = updateValue(o.right, item);
      if (a.N === undefined || b.N === undefined) throw badType();
      const y = decimalOf(b);
      return { N: checkedNumber(addDecimal(decimalOf(a), o.kind === '-' ? negateDecimal(y) : y)) };
    }
  }
}

const overflow =
  'Number overflow. Attempting to store a number with magnitude larger than supported range';

/**
 * A sum or difference out of range. DynamoDB calls a result with too many
 * significant digits (1E50 - 1) an overflow too, unlike a stored value.
 */
function checkedNumber(d: ReturnType<typeof addDecimal>): string {
  const err = decimalRangeError(d);
  if (err?.includes('significant digits')) throw validation(overflow);
  if (err) throw validation(err);
  return formatDecimal(d);
}

function clone(v: AttributeValue): AttributeValue {
  if (v.M) return { M: Object.fromEntries(Object.entries(v.M).map(([k, e]) => [k, clone(e)])) };
  if (v.L) return { L: v.L.map(clone) };
  return v;
}

/** The parent container of a path in `root`, created nowhere: DynamoDB requires it. */
function parentOf(root: AttributeValue, elems: (string | number)[]): AttributeValue {
  let cur = root;
  for (const e of elems.slice(0, -1)) {
    const next: AttributeValue | undefined = typeof e === 'number' ? cur.L?.[e] : cur.M?.[e];
    if (!next) throw badPath();
    cur = next;
  }
  return cur;
}

function setAt(root: AttributeValue, elems: (string | number)[], v: AttributeValue): void {
  const parent = parentOf(root, elems);
  const last = elems[elems.length - 1]!;
  if (typeof last === 'number') {
    if (!parent.L) throw badPath();
    if (last >= parent.L.length) parent.L.push(v);
    else parent.L[last] = v;
  } else {
    if (!parent.M) throw badPath();
    parent.M[last] = v;
  }
}

/**
 * Like DynamoDB, a missing last element (a map key, an index past the end) is no
 * error, but a missing parent or one of the wrong kind is.
 */
function removeAt(root: AttributeValue, elems: (string | number)[]): void {
  const parent = parentOf(root, elems);
  const last = elems[elems.length - 1]!;
  if (typeof last === 'number') {
    if (!parent.L) throw badPath();
    if (last < parent.L.length) parent.L.splice(last, 1);
  } else {
    if (!parent.M) throw badPath();
    delete parent.M[last];
  }
}

function setUnion(
  a: AttributeValue,
  b: AttributeValue,
  remove: boolean,
  mismatch: () => Error,
): AttributeValue | null {
  const t = typeOf(a);
  if (t !== typeOf(b)) throw mismatch();
  const list = [...(a[t] as string[])];
  const elemType = t.slice(0, 1) as 'S' | 'N' | 'B';
  for (const e of b[t] as string[]) {
    const has = setHas({ [t]: list } as AttributeValue, { [elemType]: e } as AttributeValue);
    if (remove && has) {
      const idx = list.findIndex((x) =>
        valuesEqual({ [elemType]: x } as AttributeValue, { [elemType]: e } as AttributeValue),
      );
      list.splice(idx, 1);
    } else if (!remove && !has) list.push(e);
  }
  if (list.length === 0) return null;
  return { [t]: list } as AttributeValue;
}

/**
 * Applies an update expression. Every operand reads the item as it was before the
 * update, as DynamoDB specifies; REMOVEs of list elements go from the highest index
 * down so that earlier removals do not shift later ones.
 */
export function applyUpdate(
  u: UpdateExpression,
  item: Item,
  opts: { legacy?: boolean } = {},
): Item {
  // AttributeUpdates (legacy) has its own words for an ADD or DELETE whose value
  // does not fit the attribute.
  const mismatch = opts.legacy ? typeMismatch : badType;
  const values = u.set.map((s) => updateValue(s.value, item));
  const root = clone({ M: item });
  // Elements set past a list's end are appended in index order, as DynamoDB does
  // ("SET a[84] = :x, a[17] = :y" appends :y first); paths never overlap, so the
  // order changes nothing else.
  const lastIndex = (i: number) => {
    const elems = u.set[i]!.path.elems;
    const last = elems[elems.length - 1];
    return typeof last === 'number' ? last : -1;
  };
  const order = u.set.map((_, i) => i).sort((a, b) => lastIndex(a) - lastIndex(b));
  for (const i of order) setAt(root, u.set[i]!.path.elems, values[i]!);
  const removes = [...u.remove].sort((a, b) => {
    const x = a.elems[a.elems.length - 1];
    const y = b.elems[b.elems.length - 1];
    return typeof x === 'number' && typeof y === 'number' ? y - x : 0;
  });
  for (const p of removes) removeAt(root, p.elems);
  for (const a of u.add) {
    const cur = getPath(item, a.path.elems);
    const v = a.value.value;
    if (!cur) setAt(root, a.path.elems, v);
    else if (cur.N !== undefined && v.N !== undefined) {
      setAt(root, a.path.elems, { N: checkedNumber(addDecimal(decimalOf(cur), decimalOf(v))) });
    } else if ((cur.SS || cur.NS || cur.BS) && (v.SS || v.NS || v.BS)) {
      setAt(root, a.path.elems, setUnion(cur, v, false, mismatch)!);
    } else throw mismatch();
  }
  for (const d of u.delete) {
    const cur = getPath(item, d.path.elems);
    if (!cur) continue;
    if (!(cur.SS || cur.NS || cur.BS)) throw mismatch();
    const next = setUnion(cur, d.value.value, true, mismatch);
    if (next) setAt(root, d.path.elems, next);
    else removeAt(root, d.path.elems);
  }
  return root.M!;
}

/** Paths an update writes, for ReturnValues UPDATED_OLD / UPDATED_NEW. */
export function updatedPaths(u: UpdateExpression): PathNode[] {
  return [
    ...u.set.map((s) => s.path),
    ...u.remove,
    ...u.add.map((a) => a.path),
    ...u.delete.map((d) => d.path),
  ];
}
