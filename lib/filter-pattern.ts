// Lambda's event filtering (FilterCriteria.Filters[].Pattern) on the stream record
// as the function would receive it. A record passes when any filter matches; a
// filter matches when every key of its pattern matches. A pattern's leaf is a list
// of matchers (an OR): literal values (equality; numbers compare as numbers), or
// {prefix}, {suffix}, {equals-ignore-case}, {anything-but}, {numeric}, {exists}.
// A record field that is a list matches when any of its elements does. Numeric
// matchers match JSON numbers only: DynamoDB's `N` values are strings in the record,
// so `{"N": [{"numeric": [">", 5]}]}` never matches (as on Lambda).
import { isObject } from './parse.ts';

type Matcher = (value: unknown, present: boolean) => boolean;
export type Pattern = { [key: string]: Pattern | Matcher[] };

export class FilterPatternError extends Error {}

const bad = (why: string): never => {
  throw new FilterPatternError(why);
};

const isScalar = (v: unknown) =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function equalsValue(want: unknown): Matcher {
  return (v, present) => present && v === want;
}

function numericMatcher(spec: unknown): Matcher {
  if (!Array.isArray(spec) || spec.length === 0 || spec.length > 4 || spec.length % 2 !== 0)
    bad('numeric takes one or two (operator, number) pairs');
  const tests: ((n: number) => boolean)[] = [];
  for (let i = 0; i < (spec as unknown[]).length; i += 2) {
    const op = (spec as unknown[])[i];
    const n = (spec as unknown[])[i + 1];
    if (typeof n !== 'number') bad('numeric bounds must be numbers');
    const b = n as number;
    if (op === '=') tests.push((x) => x === b);
    else if (op === '<') tests.push((x) => x < b);
    else if (op === '<=') tests.push((x) => x <= b);
    else if (op === '>') tests.push((x) => x > b);
    else if (op === '>=') tests.push((x) => x >= b);
    else bad(`unknown numeric operator ${String(op)}`);
  }
  return (v, present) => present && typeof v === 'number' && tests.every((t) => t(v));
}

function anythingBut(spec: unknown): Matcher {
  if (isObject(spec)) {
    const keys = Object.keys(spec);
    if (keys.length !== 1) bad('anything-but takes one rule');
    const inner = stringRule(keys[0]!, spec[keys[0]!]);
    return (v, present) => present && typeof v === 'string' && !inner(v, present);
  }
  const values = Array.isArray(spec) ? spec : [spec];
  if (values.length === 0 || !values.every(isScalar)) bad('anything-but takes values');
  return (v, present) => present && !values.includes(v);
}

function stringRule(name: string, arg: unknown): Matcher {
  if (typeof arg !== 'string') bad(`${name} takes a string`);
  const s = arg as string;
  if (name === 'prefix') return (v, p) => p && typeof v === 'string' && v.startsWith(s);
  if (name === 'suffix') return (v, p) => p && typeof v === 'string' && v.endsWith(s);
  if (name === 'equals-ignore-case')
    return (v, p) => p && typeof v === 'string' && v.toLowerCase() === s.toLowerCase();
  return bad(`unknown rule ${name}`);
}

function matcher(m: unknown): Matcher {
  if (isScalar(m)) return equalsValue(m);
  if (!isObject(m)) return bad('a pattern value must be a list of values or rules');
  const keys = Object.keys(m);
  if (keys.length !== 1) bad('a rule has exactly one name');
  const name = keys[0]!;
  const arg = m[name];
  switch (name) {
    case 'numeric':
      return numericMatcher(arg);
    case 'anything-but':
      return anythingBut(arg);
    case 'exists':
      if (typeof arg !== 'boolean') bad('exists takes true or false');
      return (_v, present) => present === arg;
    default:
      return stringRule(name, arg);
  }
}

function compile(raw: unknown): Pattern {
  if (!isObject(raw) || Object.keys(raw).length === 0) bad('a pattern is a non-empty object');
  const out: Pattern = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(v)) {
      if (v.length === 0) bad(`${k}: an empty list matches nothing`);
      out[k] = v.map(matcher);
    } else if (isObject(v)) out[k] = compile(v);
    else bad(`${k}: a pattern value must be a list or an object`);
  }
  return out;
}

/** Parses one Pattern (JSON text); throws FilterPatternError when it is not one. */
export function parsePattern(text: string): Pattern {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return bad('not JSON');
  }
  return compile(raw);
}

function leafMatches(ms: Matcher[], value: unknown, present: boolean): boolean {
  if (present && Array.isArray(value)) {
    return value.some((x) => ms.some((m) => m(x, true)));
  }
  return ms.some((m) => m(value, present));
}

export function matches(p: Pattern, record: unknown): boolean {
  const obj = isObject(record) ? record : {};
  for (const [k, rule] of Object.entries(p)) {
    const present = Object.prototype.hasOwnProperty.call(obj, k);
    const value = present ? obj[k] : undefined;
    if (Array.isArray(rule)) {
      if (!leafMatches(rule, value, present)) return false;
    } else if (!present || !isObject(value) || !matches(rule, value)) return false;
  }
  return true;
}

/** A record passes the criteria when there are none or any pattern matches it. */
export function passes(patterns: Pattern[], record: unknown): boolean {
  return patterns.length === 0 || patterns.some((p) => matches(p, record));
}
