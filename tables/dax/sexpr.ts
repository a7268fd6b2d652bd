// DAX clients parse expressions themselves and send a tree ("S-expression"): this
// turns the tree back into DynamoDB expression text for the table service's own
// parser, every name behind a #placeholder (so reserved words stay legal) and every
// value behind a :placeholder of its expression's own prefix.
import { validation } from '../errors.ts';
import type { AttributeValue } from '../values.ts';
import { Tagged, decodeOne, type Cbor } from './cbor.ts';
import { TAG_PATH_ORDINAL, toAttributeValue } from './values.ts';

const F = {
  Equal: 0,
  NotEqual: 1,
  LessThan: 2,
  GreaterEqual: 3,
  GreaterThan: 4,
  LessEqual: 5,
  And: 6,
  Or: 7,
  Not: 8,
  Between: 9,
  In: 10,
  AttributeExists: 11,
  AttributeNotExists: 12,
  AttributeType: 13,
  BeginsWith: 14,
  Contains: 15,
  Size: 16,
  Variable: 17,
  DocumentPath: 18,
  SetAction: 19,
  AddAction: 20,
  DeleteAction: 21,
  RemoveAction: 22,
  IfNotExists: 23,
  ListAppend: 24,
  Plus: 25,
  Minus: 26,
} as const;

const comparators: Record<number, string> = {
  [F.Equal]: '=',
  [F.NotEqual]: '<>',
  [F.LessThan]: '<',
  [F.GreaterEqual]: '>=',
  [F.GreaterThan]: '>',
  [F.LessEqual]: '<=',
};

const functions: Record<number, string> = {
  [F.AttributeExists]: 'attribute_exists',
  [F.AttributeNotExists]: 'attribute_not_exists',
  [F.AttributeType]: 'attribute_type',
  [F.BeginsWith]: 'begins_with',
  [F.Contains]: 'contains',
  [F.Size]: 'size',
  [F.IfNotExists]: 'if_not_exists',
  [F.ListAppend]: 'list_append',
};

const bad = () => validation('DAX request: malformed expression');

/** Names and values gathered over all of one request's expressions. */
export class Placeholders {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private byName = new Map<string, string>();

  name(n: string): string {
    let p = this.byName.get(n);
    if (!p) {
      p = `#n${this.byName.size}`;
      this.byName.set(n, p);
      this.names[p] = n;
    }
    return p;
  }

  /** The request fields for the placeholders used, none when empty. */
  fields(): Record<string, unknown> {
    return {
      ...(Object.keys(this.names).length && { ExpressionAttributeNames: this.names }),
      ...(Object.keys(this.values).length && { ExpressionAttributeValues: this.values }),
    };
  }
}

class Printer {
  constructor(
    private ph: Placeholders,
    private prefix: string,
    private vars: Cbor[],
  ) {}

  private node(x: Cbor): [number, Cbor[]] {
    if (!Array.isArray(x) || typeof x[0] !== 'number') throw bad();
    return [x[0], x.slice(1)];
  }

  path(x: Cbor): string {
    const [f, parts] = this.node(x);
    if (f !== F.DocumentPath || !parts.length) throw bad();
    return parts
      .map((p, i) => {
        if (typeof p === 'string') return (i ? '.' : '') + this.ph.name(p);
        if (p instanceof Tagged && p.tag === TAG_PATH_ORDINAL && typeof p.value === 'number') {
          return `[${p.value}]`;
        }
        throw bad();
      })
      .join('');
  }

  operand(x: Cbor): string {
    const [f, args] = this.node(x);
    if (f === F.DocumentPath) return this.path(x);
    if (f === F.Variable) {
      const i = args[0];
      if (typeof i !== 'number' || i >= this.vars.length) throw bad();
      const p = `:${this.prefix}${i}`;
      this.ph.values[p] = toAttributeValue(this.vars[i]);
      return p;
    }
    if (f === F.Plus || f === F.Minus) {
      return `${this.operand(args[0])} ${f === F.Plus ? '+' : '-'} ${this.operand(args[1])}`;
    }
    const name = functions[f];
    if (!name) throw bad();
    return `${name}(${args.map((a) => this.operand(a)).join(', ')})`;
  }

  condition(x: Cbor): string {
    const [f, args] = this.node(x);
    const op = comparators[f];
    if (op) return `${this.operand(args[0])} ${op} ${this.operand(args[1])}`;
    const group = (c: Cbor, inside: number) => {
      const [g] = this.node(c);
      const text = this.condition(c);
      // AND binds tighter than OR; NOT takes one operand: group what would regroup.
      return (g === F.Or && inside !== F.Or) || (g === F.And && inside === F.Not)
        ? `(${text})`
        : text;
    };
    switch (f) {
      case F.And:
      case F.Or:
        return `${group(args[0], f)} ${f === F.And ? 'AND' : 'OR'} ${group(args[1], f)}`;
      case F.Not:
        return `NOT ${group(args[0], F.Not)}`;
      case F.Between:
        return `${this.operand(args[0])} BETWEEN ${this.operand(args[1])} AND ${this.operand(args[2])}`;
      case F.In: {
        const list = args[1];
        if (!Array.isArray(list)) throw bad();
        return `${this.operand(args[0])} IN (${list.map((a) => this.operand(a)).join(', ')})`;
      }
      default:
        return this.operand(x);
    }
  }

  update(x: Cbor): string {
    if (!Array.isArray(x)) throw bad();
    const sections: Record<string, string[]> = { SET: [], ADD: [], DELETE: [], REMOVE: [] };
    for (const action of x) {
      const [f, args] = this.node(action);
      if (f === F.SetAction) sections.SET!.push(`${this.path(args[0])} = ${this.operand(args[1])}`);
      else if (f === F.AddAction)
        sections.ADD!.push(`${this.path(args[0])} ${this.operand(args[1])}`);
      else if (f === F.DeleteAction) {
        sections.DELETE!.push(`${this.path(args[0])} ${this.operand(args[1])}`);
      } else if (f === F.RemoveAction) sections.REMOVE!.push(this.path(args[0]));
      else throw bad();
    }
    return Object.entries(sections)
      .filter(([, list]) => list.length)
      .map(([k, list]) => `${k} ${list.join(', ')}`)
      .join(' ');
  }
}

export type ExpressionKind = 'condition' | 'update' | 'projection';

/**
 * The expression text of one encoded expression: [1, tree, values] (a projection:
 * [1, paths]). `prefix` keeps each expression's values apart (:c0, :f0…).
 */
export function expressionText(
  encoded: Cbor,
  kind: ExpressionKind,
  ph: Placeholders,
  prefix: string,
): string {
  if (!Buffer.isBuffer(encoded)) throw bad();
  const spec = decodeOne(encoded);
  if (!Array.isArray(spec) || spec[0] !== 1) throw bad();
  const vars = Array.isArray(spec[2]) ? spec[2] : [];
  const p = new Printer(ph, prefix, vars);
  if (kind === 'projection') {
    if (!Array.isArray(spec[1])) throw bad();
    return spec[1].map((x) => p.path(x)).join(', ');
  }
  return kind === 'update' ? p.update(spec[1]) : p.condition(spec[1]);
}

/** The projection's paths, in order: the client numbers projected values by them. */
export function projectionPaths(encoded: Cbor): (string | number)[][] {
  if (!Buffer.isBuffer(encoded)) throw bad();
  const spec = decodeOne(encoded);
  if (!Array.isArray(spec) || !Array.isArray(spec[1])) throw bad();
  return spec[1].map((x) => {
    if (!Array.isArray(x) || x[0] !== F.DocumentPath) throw bad();
    return x.slice(1).map((p) => {
      if (typeof p === 'string') return p;
      if (p instanceof Tagged && typeof p.value === 'number') return p.value;
      throw bad();
    });
  });
}
