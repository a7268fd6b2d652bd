// One hand-written recursive-descent parser for every DynamoDB expression kind
// (condition, key condition, filter, projection, update). It substitutes
// ExpressionAttributeNames/Values as it goes and records which were used, so the
// caller can raise DynamoDB's "unused" errors once all expressions of a request
// are parsed. Errors are thrown as ExpressionError with DynamoDB's wording; the
// caller prefixes "Invalid <Kind>Expression: ".
import type { AttributeValue, Item } from '../values.ts';
import { compareScalar, maxNesting, typeOf } from '../values.ts';
import type {
  Comparator,
  Condition,
  Operand,
  PathNode,
  UpdateExpression,
  UpdateOperand,
  ValueNode,
} from './ast.ts';
import { reservedWords } from './reserved-words.ts';

export class ExpressionError extends Error {}

export interface ExpressionContext {
  names?: Record<string, string>;
  values?: Item;
  usedNames: Set<string>;
  usedValues: Set<string>;
}

type TokenKind = 'ident' | 'name' | 'value' | 'number' | 'punct' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
}

const maxExpressionBytes = 4096;
const maxInOperands = 100;

// A bare attribute name starts with a letter (DynamoDB rejects `_a` and `1a`);
// after `#` or `:` any of [A-Za-z0-9_] may come first.
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const re =
    /\s+|(#[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)|([A-Za-z][A-Za-z0-9_]*)|(\d+)|(<>|<=|>=|[=<>()[\],.+-])/y;
  let i = 0;
  while (i < src.length) {
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) {
      const prev = out[out.length - 1];
      throw new ExpressionError(
        `Syntax error; token: "${src[i]}", near: "${prev ? src.slice(prev.start, i + 1) : src[i]}"`,
      );
    }
    const kinds: TokenKind[] = ['name', 'value', 'ident', 'number', 'punct'];
    for (let g = 1; g <= 5; g++) {
      if (m[g] !== undefined) {
        out.push({ kind: kinds[g - 1]!, text: m[g]!, start: i, end: i + m[0].length });
      }
    }
    i += m[0].length;
  }
  out.push({ kind: 'eof', text: '<EOF>', start: src.length, end: src.length });
  return out;
}

const booleanFunctions = new Set([
  'attribute_exists',
  'attribute_not_exists',
  'attribute_type',
  'begins_with',
  'contains',
]);
const updateFunctions = new Set(['if_not_exists', 'list_append']);
const attributeTypes = ['B', 'NULL', 'SS', 'BOOL', 'L', 'BS', 'N', 'NS', 'S', 'M'];

class Parser {
  private pos = 0;
  private readonly tokens: Token[];

  constructor(
    private readonly src: string,
    private readonly ctx: ExpressionContext,
  ) {
    if (src === '') throw new ExpressionError('The expression can not be empty;');
    const bytes = Buffer.byteLength(src, 'utf8');
    if (bytes > maxExpressionBytes) {
      throw new ExpressionError(
        `Expression size has exceeded the maximum allowed size; expression size: ${bytes}`,
      );
    }
    this.tokens = tokenize(src);
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  syntaxError(t: Token = this.peek()): ExpressionError {
    const prev = this.tokens[this.tokens.indexOf(t) - 1];
    const near = this.src.slice(prev ? prev.start : t.start, t.end);
    return new ExpressionError(`Syntax error; token: "${t.text}", near: "${near}"`);
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.text.toUpperCase() === word;
  }

  private expectPunct(text: string): void {
    if (!this.isPunct(text)) throw this.syntaxError();
    this.next();
  }

  expectEnd(): void {
    if (this.peek().kind !== 'eof') throw this.syntaxError();
  }

  // ---- paths and operands

  private pathElement(t: Token): string {
    if (t.kind === 'name') {
      const name = this.ctx.names?.[t.text];
      if (name === undefined) {
        throw new ExpressionError(
          `An expression attribute name used in the document path is not defined; attribute name: ${t.text}`,
        );
      }
      this.ctx.usedNames.add(t.text);
      return name;
    }
    if (t.kind === 'ident') {
      if (reservedWords.has(t.text.toUpperCase())) {
        throw new ExpressionError(
          `Attribute name is a reserved keyword; reserved keyword: ${t.text}`,
        );
      }
      return t.text;
    }
    throw this.syntaxError(t);
  }

  path(): PathNode {
    const elems: (string | number)[] = [this.pathElement(this.next())];
    for (;;) {
      if (this.isPunct('.')) {
        this.next();
        elems.push(this.pathElement(this.next()));
      } else if (this.isPunct('[')) {
        this.next();
        const t = this.next();
        if (t.kind !== 'number') throw this.syntaxError(t);
        elems.push(Number(t.text));
        this.expectPunct(']');
      } else break;
    }
    if (elems.length > maxNesting) {
      throw new ExpressionError(
        `The document path has too many nesting levels; nesting levels: ${elems.length}`,
      );
    }
    return { kind: 'path', elems };
  }

  private valueRef(): ValueNode {
    const t = this.next();
    const value = this.ctx.values?.[t.text];
    if (value === undefined) {
      throw new ExpressionError(
        `An expression attribute value used in expression is not defined; attribute value: ${t.text}`,
      );
    }
    this.ctx.usedValues.add(t.text);
    return { kind: 'value', value };
  }

  private functionName(): string {
    const t = this.next();
    const name = t.text;
    if (!booleanFunctions.has(name) && !updateFunctions.has(name) && name !== 'size') {
      throw new ExpressionError(`Invalid function name; function: ${name}`);
    }
    this.expectPunct('(');
    return name;
  }

  private args<T>(fn: string, one: () => T): T[] {
    const out: T[] = [one()];
    while (this.isPunct(',')) {
      this.next();
      out.push(one());
    }
    this.expectPunct(')');
    return out;
  }

  private arity(fn: string, args: unknown[], n: number): void {
    if (args.length !== n) {
      throw new ExpressionError(
        `Incorrect number of operands for operator or function; operator or function: ${fn}, number of operands: ${args.length}`,
      );
    }
  }

  private isCall(): boolean {
    return (
      this.peek().kind === 'ident' && this.peek(1).kind === 'punct' && this.peek(1).text === '('
    );
  }

  /** An operand of a condition: path, value or size(path). */
  operand(): Operand {
    const t = this.peek();
    if (t.kind === 'value') return this.valueRef();
    if (this.isCall()) {
      const name = this.functionName();
      if (name !== 'size') {
        throw new ExpressionError(
          `The function is not allowed to be used this way in an expression; function: ${name}`,
        );
      }
      const args = this.args(name, () => this.operand());
      this.arity(name, args, 1);
      const arg = args[0]!;
      if (arg.kind === 'value') operandType('size', arg, ['S', 'B', 'SS', 'NS', 'BS', 'L', 'M']);
      return { kind: 'size', arg };
    }
    if (t.kind === 'name' || t.kind === 'ident') return this.path();
    throw this.syntaxError(t);
  }

  // ---- conditions: OR < AND < NOT < comparison, as DynamoDB orders them

  condition(): Condition {
    let left = this.conjunction();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.conjunction() };
    }
    return left;
  }

  private conjunction(): Condition {
    let left = this.negation();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.negation() };
    }
    return left;
  }

  private negation(): Condition {
    if (this.isKeyword('NOT')) {
      this.next();
      return { kind: 'not', arg: this.negation() };
    }
    return this.predicate();
  }

  private predicate(): Condition {
    if (this.isPunct('(')) {
      this.next();
      const c = this.condition();
      this.expectPunct(')');
      return c;
    }
    if (this.isCall() && this.peek().text !== 'size') return this.booleanFunction();
    const arg = this.operand();
    const t = this.peek();
    if (t.kind === 'punct' && ['=', '<>', '<', '<=', '>', '>='].includes(t.text)) {
      this.next();
      const right = this.operand();
      const op = t.text as Comparator;
      if (op !== '=' && op !== '<>') {
        for (const o of [arg, right]) {
          if (o.kind === 'value') operandType(op, o, ['S', 'N', 'B']);
        }
      }
      return { kind: 'compare', op, left: arg, right };
    }
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const low = this.operand();
      if (!this.isKeyword('AND')) throw this.syntaxError();
      this.next();
      const high = this.operand();
      for (const o of [arg, low, high]) {
        if (o.kind === 'value') operandType('BETWEEN', o, ['S', 'N', 'B']);
      }
      // Bounds given as values are checked here, as DynamoDB does; bounds read from
      // the item only make the condition false.
      if (low.kind === 'value' && high.kind === 'value') {
        const bounds = `lower bound operand: AttributeValue: {${typeOf(low.value)}:${scalarText(low.value)}}, upper bound operand: AttributeValue: {${typeOf(high.value)}:${scalarText(high.value)}}`;
        if (typeOf(low.value) !== typeOf(high.value)) {
          throw new ExpressionError(
            `The BETWEEN operator requires same data type for lower and upper bounds; ${bounds}`,
          );
        }
        if (compareScalar(low.value, high.value) > 0) {
          throw new ExpressionError(
            `The BETWEEN operator requires upper bound to be greater than or equal to lower bound; ${bounds}`,
          );
        }
      }
      return { kind: 'between', arg, low, high };
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expectPunct('(');
      const list = this.args('IN', () => this.operand());
      if (list.length > maxInOperands) {
        throw new ExpressionError(
          `The IN operator is provided with too many operands; number of operands: ${list.length}`,
        );
      }
      return { kind: 'in', arg, list };
    }
    throw this.syntaxError();
  }

  private booleanFunction(): Condition {
    const name = this.functionName();
    if (!booleanFunctions.has(name)) {
      throw new ExpressionError(
        `The function is not allowed to be used this way in an expression; function: ${name}`,
      );
    }
    const args = this.args(name, () => this.operand());
    switch (name) {
      case 'attribute_exists':
      case 'attribute_not_exists': {
        this.arity(name, args, 1);
        return { kind: name, path: requirePath(name, args[0]!) };
      }
      case 'attribute_type': {
        this.arity(name, args, 2);
        const type = args[1]!;
        if (type.kind === 'value') {
          operandType(name, type, ['S']);
          if (!attributeTypes.includes(type.value.S!)) {
            throw new ExpressionError(
              `Invalid attribute type name found; type: ${type.value.S}, valid types: { ${attributeTypes.join(',')} }`,
            );
          }
        }
        return { kind: name, path: requirePath(name, args[0]!), type };
      }
      case 'begins_with': {
        this.arity(name, args, 2);
        for (const o of args) if (o.kind === 'value') operandType(name, o, ['S', 'B']);
        return { kind: name, left: args[0]!, right: args[1]! };
      }
      default: {
        this.arity(name, args, 2);
        return { kind: 'contains', left: args[0]!, right: args[1]! };
      }
    }
  }

  // ---- update expressions

  update(): UpdateExpression {
    const u: UpdateExpression = { set: [], remove: [], add: [], delete: [] };
    const seen = new Set<string>();
    do {
      const t = this.next();
      const section = t.kind === 'ident' ? t.text.toUpperCase() : '';
      if (!['SET', 'REMOVE', 'ADD', 'DELETE'].includes(section)) throw this.syntaxError(t);
      if (seen.has(section)) {
        throw new ExpressionError(
          `The "${section}" section can only be used once in an update expression;`,
        );
      }
      seen.add(section);
      // A comma always wants another action: "SET a = :v," is a syntax error at <EOF>.
      for (;;) {
        if (section === 'SET') {
          const path = this.path();
          this.expectPunct('=');
          u.set.push({ path, value: this.setValue() });
        } else if (section === 'REMOVE') {
          u.remove.push(this.path());
        } else {
          const path = this.path();
          if (this.peek().kind !== 'value') throw this.syntaxError();
          const value = this.valueRef();
          const type = typeOf(value.value);
          const ok = section === 'ADD' ? ['N', 'SS', 'NS', 'BS'] : ['SS', 'NS', 'BS'];
          if (!ok.includes(type)) {
            throw new ExpressionError(
              `Incorrect operand type for operator or function; operator: ${section}, operand type: ${typeNames[type]}`,
            );
          }
          (section === 'ADD' ? u.add : u.delete).push({ path, value });
        }
        if (!this.isPunct(',')) break;
        this.next();
      }
    } while (this.peek().kind !== 'eof');
    checkOverlaps([
      ...u.set.map((s) => s.path),
      ...u.remove,
      ...u.add.map((a) => a.path),
      ...u.delete.map((d) => d.path),
    ]);
    return u;
  }

  private setValue(): UpdateOperand {
    const left = this.setOperand();
    if (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next().text as '+' | '-';
      const right = this.setOperand();
      for (const o of [left, right]) if (o.kind === 'value') operandType(op, o, ['N']);
      return { kind: op, left, right };
    }
    return left;
  }

  private setOperand(): UpdateOperand {
    const t = this.peek();
    if (t.kind === 'value') return this.valueRef();
    if (this.isCall()) {
      const name = this.functionName();
      if (!updateFunctions.has(name)) {
        throw new ExpressionError(
          `The function is not allowed to be used this way in an expression; function: ${name}`,
        );
      }
      // A function's arguments cannot be sums: DynamoDB's grammar has + and - only at
      // the top of a SET value (if_not_exists(a, :x)+:y, not if_not_exists(a, :x+:y)).
      const args = this.args(name, () => this.setOperand());
      this.arity(name, args, 2);
      if (name === 'if_not_exists') {
        const path = args[0]!;
        if (path.kind !== 'path') {
          throw new ExpressionError(
            `Operator or function requires a document path; operator or function: ${name}`,
          );
        }
        return { kind: 'if_not_exists', path, fallback: args[1]! };
      }
      for (const o of args) if (o.kind === 'value') operandType(name, o, ['L']);
      return { kind: 'list_append', left: args[0]!, right: args[1]! };
    }
    if (t.kind === 'name' || t.kind === 'ident') return this.path();
    throw this.syntaxError(t);
  }

  projection(): PathNode[] {
    const paths = [this.path()];
    while (this.isPunct(',')) {
      this.next();
      paths.push(this.path());
    }
    checkOverlaps(paths);
    return paths;
  }
}

const typeNames: Record<string, string> = {
  S: 'STRING',
  N: 'NUMBER',
  B: 'BINARY',
  BOOL: 'BOOLEAN',
  NULL: 'NULL',
  L: 'LIST',
  M: 'MAP',
  SS: 'SET',
  NS: 'SET',
  BS: 'SET',
};

function scalarText(v: AttributeValue): string {
  return String(v.S ?? v.N ?? v.B);
}

function operandType(fn: string, o: ValueNode, allowed: string[]): void {
  const t = typeOf(o.value);
  if (!allowed.includes(t)) {
    throw new ExpressionError(
      `Incorrect operand type for operator or function; operator or function: ${fn}, operand type: ${t}`,
    );
  }
}

function requirePath(fn: string, o: Operand): PathNode {
  if (o.kind !== 'path') {
    throw new ExpressionError(
      `Operator or function requires a document path; operator or function: ${fn}`,
    );
  }
  return o;
}

export function pathText(p: PathNode): string {
  return '[' + p.elems.map((e) => (typeof e === 'number' ? `[${e}]` : e)).join(', ') + ']';
}

/** DynamoDB refuses two paths where one is a prefix of (or equal to) the other. */
function checkOverlaps(paths: PathNode[]): void {
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      const a = paths[i]!.elems;
      const b = paths[j]!.elems;
      const n = Math.min(a.length, b.length);
      let k = 0;
      while (k < n && a[k] === b[k]) k++;
      if (k === n) {
        throw new ExpressionError(
          `Two document paths overlap with each other; must remove or rewrite one of these paths; path one: ${pathText(paths[i]!)}, path two: ${pathText(paths[j]!)}`,
        );
      }
      if (k < n && typeof a[k] !== typeof b[k]) {
        throw new ExpressionError(
          `Two document paths conflict with each other; must remove or rewrite one of these paths; path one: ${pathText(paths[i]!)}, path two: ${pathText(paths[j]!)}`,
        );
      }
    }
  }
}

export function parseCondition(src: string, ctx: ExpressionContext): Condition {
  const p = new Parser(src, ctx);
  const c = p.condition();
  p.expectEnd();
  return c;
}

export function parseUpdate(src: string, ctx: ExpressionContext): UpdateExpression {
  const p = new Parser(src, ctx);
  const u = p.update();
  p.expectEnd();
  return u;
}

export function parseProjection(src: string, ctx: ExpressionContext): PathNode[] {
  const p = new Parser(src, ctx);
  const paths = p.projection();
  p.expectEnd();
  return paths;
}
