// DynamoDB's PartiQL subset: a tokenizer and a recursive-descent parser for one
// SELECT, INSERT, UPDATE, DELETE or EXISTS(SELECT …) statement. Parameters (`?`)
// and literals become attribute values while parsing, so the tree holds only
// paths, values and operators; translate.ts turns it into the expression trees the
// rest of the API evaluates. Errors carry DynamoDB's words: a statement the
// grammar cannot read is "Statement wasn't well formed, can't be processed: …"
// with the detail PartiQL's parser gives.
import { decimalRangeError, formatDecimal, parseDecimal } from '../decimal.ts';
import { validation } from '../errors.ts';
import { checkValue, type AttributeValue, type Item } from '../values.ts';

export type PathElems = (string | number)[];

export type Expr =
  | { kind: 'path'; elems: PathElems }
  | { kind: 'value'; value: AttributeValue }
  | { kind: 'missing' }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr }
  | { kind: 'not'; arg: Expr }
  | { kind: 'between'; arg: Expr; low: Expr; high: Expr }
  | { kind: 'in'; arg: Expr; list: Expr[] }
  | { kind: 'is'; arg: Expr; type: string; not: boolean }
  | { kind: 'call'; name: string; args: Expr[] };

export type BinaryOp = 'AND' | 'OR' | '=' | '<>' | '<' | '<=' | '>' | '>=' | '+' | '-';

export type Returning = 'ALL_OLD' | 'ALL_NEW' | 'UPDATED_OLD' | 'UPDATED_NEW';

export interface SelectStatement {
  kind: 'select';
  table: string;
  index?: string;
  /** undefined: `*`. */
  projection?: PathElems[];
  where?: Expr;
  orderBy?: { elems: PathElems; desc: boolean }[];
}

export type UpdateAction =
  { kind: 'set'; path: PathElems; value: Expr } | { kind: 'remove'; path: PathElems };

export type Statement =
  | SelectStatement
  | { kind: 'insert'; table: string; item: Item }
  | {
      kind: 'update';
      table: string;
      actions: UpdateAction[];
      where?: Expr;
      returning?: Returning;
    }
  | { kind: 'delete'; table: string; where?: Expr; returning?: Returning }
  | { kind: 'exists'; select: SelectStatement };

const maxDepth = 200;

const malformed = (detail: string) =>
  validation(`Statement wasn't well formed, can't be processed: ${detail}`);

type TokenKind = 'ident' | 'quoted' | 'string' | 'number' | 'punct' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
}

// PartiQL's keywords (SQL-92's reserved words and PartiQL's own): unquoted they
// are never attribute names, so `WHERE pad = 1` is refused and `"pad"` is not.
const keywords = new Set(
  (
    'absolute action add all allocate alter and any are as asc assertion at authorization avg ' +
    'bag begin between bit bit_length blob boolean both by cascade cascaded case cast catalog ' +
    'char char_length character character_length check clob close coalesce collate collation ' +
    'column commit conflict connect connection constraint constraints continue convert ' +
    'corresponding count create cross current current_date current_time current_timestamp ' +
    'current_user cursor date deallocate dec decimal declare default deferrable deferred delete ' +
    'desc describe descriptor diagnostics disconnect distinct do domain double drop else end ' +
    'end-exec escape except exception exec execute exists external extract false fetch first ' +
    'float for foreign found from full get global go goto grant group having identity immediate ' +
    'in indicator initially inner input insensitive insert int integer intersect interval into ' +
    'is isolation join key language last left let level like limit list local lower match max ' +
    'min missing modified module names national natural nchar new next no not nothing null ' +
    'nullif numeric octet_length of offset old on only open option or order outer output ' +
    'overlaps pad partial pivot position precision prepare preserve primary prior privileges ' +
    'procedure public read real references relative remove restrict returning revoke right ' +
    'rollback rows schema scroll section select session session_user set sexp size smallint some ' +
    'space sql sqlcode sqlerror sqlstate string struct substring sum symbol system_user table ' +
    'temporary then time timestamp to transaction translate translation trim true tuple union ' +
    'unique unknown unpivot update upper usage user using value values view when whenever where ' +
    'with work write zone'
  ).split(' '),
);

const punctuation = ['<<', '>>', '<=', '>=', '<>', '!=', '||', ...'=<>()[]{},.*?:;+-/%'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  // A lexical error (an unterminated comment or string, a character PartiQL has
  // no token for) has no detail after the colon in DynamoDB's answer.
  const lexError = () => malformed('');
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (src.startsWith('--', i)) {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl + 1;
      continue;
    }
    if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw lexError();
      i = end + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= src.length) throw lexError();
        if (src[j] === c) {
          if (src[j + 1] === c) {
            text += c;
            j += 2;
            continue;
          }
          break;
        }
        text += src[j];
        j++;
      }
      out.push({ kind: c === "'" ? 'string' : 'quoted', text });
      i = j + 1;
      continue;
    }
    const num = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ kind: 'number', text: num[0] });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i));
    if (ident) {
      out.push({ kind: 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    const p = punctuation.find((s) => src.startsWith(s, i));
    if (!p) throw lexError();
    out.push({ kind: 'punct', text: p });
    i += p.length;
  }
  out.push({ kind: 'eof', text: '' });
  return out;
}

const comparators = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);
const operatorWords = new Set(['IS', 'LIKE', 'AND', 'OR', 'IN', 'BETWEEN']);

class Parser {
  private pos = 0;
  private readonly tokens: Token[];
  /** How many `?` the statement holds, to compare with the request's Parameters. */
  paramCount = 0;
  private depth = 0;

  constructor(
    src: string,
    private readonly params: AttributeValue[],
  ) {
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

  private isPunct(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'punct' && t.text === text;
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.text.toUpperCase() === word;
  }

  private accept(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.pos++;
    return true;
  }

  private expectKeyword(word: string, detail = `Expected ${word}`): void {
    if (!this.accept(word)) throw malformed(detail);
  }

  private expectPunct(text: string, detail = `Expected ${text}`): void {
    if (!this.isPunct(text)) throw malformed(detail);
    this.pos++;
  }

  private isReserved(t: Token): boolean {
    return t.kind === 'ident' && keywords.has(t.text.toLowerCase());
  }

  /** The end of the statement: an optional `;`, then nothing. */
  end(): void {
    if (this.isPunct(';')) this.pos++;
    if (this.peek().kind !== 'eof') throw malformed('Unexpected token after expression');
  }

  // ---- statements

  statement(): Statement {
    const t = this.peek();
    const word = t.kind === 'ident' ? t.text.toUpperCase() : '';
    let s: Statement;
    switch (word) {
      case 'SELECT':
        s = this.select();
        break;
      case 'INSERT':
        s = this.insert();
        break;
      case 'UPDATE':
        s = this.update();
        break;
      case 'DELETE':
        s = this.delete();
        break;
      case 'EXISTS':
        s = this.exists();
        break;
      default:
        throw malformed('Expected data manipulation');
    }
    this.end();
    return s;
  }

  private exists(): Statement {
    this.next();
    this.expectPunct('(');
    if (!this.isKeyword('SELECT')) throw validation('Unsupported operation in transaction.');
    const select = this.select();
    this.expectPunct(')');
    return { kind: 'exists', select };
  }

  private select(): SelectStatement {
    this.next();
    if (this.isKeyword('DISTINCT')) throw validation('Unsupported token in expression: DISTINCT');
    if (this.isKeyword('VALUE') || this.isKeyword('PIVOT')) {
      throw validation("Select projection doesn't support value or pivot keywords");
    }
    if (this.accept('ALL')) {
      // SELECT ALL is the default quantifier.
    }
    let projection: PathElems[] | undefined;
    let star = false;
    for (;;) {
      if (this.isPunct('*')) {
        this.next();
        star = true;
      } else {
        projection ??= [];
        projection.push(this.path());
        if (this.isKeyword('AS')) throw validation('Aliasing is not supported');
      }
      if (!this.isPunct(',')) break;
      this.next();
    }
    if (star && projection) {
      throw validation(
        "Other attributes should not be present in the projection when '*' is used.",
      );
    }
    if (projection) {
      const seen = new Set<string>();
      for (const p of projection) {
        const k = JSON.stringify(p);
        if (seen.has(k)) {
          throw validation(`Duplicate identifiers in select clause: ${pathString(p)}`);
        }
        seen.add(k);
      }
    }
    this.expectKeyword('FROM', 'Unexpected term');
    const source = this.source();
    if (source.length > 2) {
      throw validation('A path may contain at most 2 components in the FROM clause');
    }
    this.noAlias();
    if (this.isPunct(','))
      throw validation('Only select from a single table or index is supported.');
    const out: SelectStatement = { kind: 'select', table: source[0]!, projection };
    if (source[1] !== undefined) out.index = source[1];
    if (this.accept('WHERE')) out.where = this.expr();
    if (this.isKeyword('GROUP')) throw validation('Unsupported clause: GROUP BY');
    if (this.isKeyword('HAVING')) throw validation('Unsupported clause: HAVING');
    if (this.accept('ORDER')) {
      this.expectKeyword('BY');
      out.orderBy = [];
      for (;;) {
        const elems = this.path();
        const desc = this.accept('DESC');
        if (!desc) this.accept('ASC');
        out.orderBy.push({ elems, desc });
        if (!this.isPunct(',')) break;
        this.next();
      }
    }
    if (this.isKeyword('LIMIT')) throw validation('Unsupported clause: LIMIT');
    return out;
  }

  private insert(): Statement {
    this.next();
    this.expectKeyword('INTO');
    const table = this.tableName();
    if (this.isKeyword('VALUES') || this.isKeyword('SELECT')) {
      throw validation(
        'Unsupported operation: Inserting multiple items in a single statement is not supported, use "INSERT INTO tableName VALUE item" instead',
      );
    }
    this.expectKeyword('VALUE', 'Unexpected token after expression');
    // The item's own attributes are each at "root" in DynamoDB's value errors.
    const v: Expr = this.isPunct('{')
      ? { kind: 'value', value: this.literal('item') }
      : this.additive();
    if (v.kind !== 'value' || v.value.M === undefined) {
      throw validation(
        'Unsupported format in item expression. Please use struct format {...} to express item values for insert statement.',
      );
    }
    if (this.isKeyword('RETURNING')) throw validation('RETURNING is not supported in INSERT');
    return { kind: 'insert', table, item: v.value.M };
  }

  private update(): Statement {
    this.next();
    const table = this.tableName();
    this.noAlias();
    const actions: UpdateAction[] = [];
    for (;;) {
      if (this.accept('SET')) {
        do {
          const path = this.path();
          this.expectPunct('=', 'Expected =');
          actions.push({ kind: 'set', path, value: this.additive() });
        } while (this.isPunct(',') && this.next());
      } else if (this.accept('REMOVE')) {
        do actions.push({ kind: 'remove', path: this.path() });
        while (this.isPunct(',') && this.next());
      } else break;
    }
    if (!actions.length) throw malformed('Expected SET or REMOVE');
    const where = this.accept('WHERE') ? this.expr() : undefined;
    return { kind: 'update', table, actions, where, returning: this.returning() };
  }

  private delete(): Statement {
    this.next();
    this.expectKeyword('FROM', 'Expected FROM');
    const table = this.tableName();
    this.noAlias();
    const where = this.accept('WHERE') ? this.expr() : undefined;
    return { kind: 'delete', table, where, returning: this.returning() };
  }

  private returning(): Returning | undefined {
    if (!this.accept('RETURNING')) return undefined;
    const which = this.accept('ALL') ? 'ALL' : this.accept('MODIFIED') ? 'UPDATED' : undefined;
    const age = this.accept('OLD') ? 'OLD' : this.accept('NEW') ? 'NEW' : undefined;
    if (!which || !age) throw malformed('Expected ( MODIFIED | ALL ) ( NEW | OLD )');
    if (!this.isPunct('*')) {
      throw validation("Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause");
    }
    this.next();
    if (this.isPunct(',')) {
      throw validation('Invalid syntax with multiple returning elements in RETURNING clause');
    }
    return `${which}_${age}` as Returning;
  }

  /** The dotted name after FROM, one or two components. */
  private source(missing?: string): string[] {
    const out = [this.name(missing)];
    while (this.isPunct('.')) {
      this.next();
      out.push(this.name());
    }
    return out;
  }

  private tableName(): string {
    const source = this.source('Expected identifier for simple path');
    if (source.length > 1) {
      throw validation(
        'FROM clause may only contain a single table name in data manipulation statements',
      );
    }
    return source[0]!;
  }

  private name(missing = 'Unexpected term'): string {
    const t = this.peek();
    if (t.kind === 'quoted' || (t.kind === 'ident' && !this.isReserved(t))) {
      this.next();
      return t.text;
    }
    throw malformed(missing);
  }

  private noAlias(): void {
    const t = this.peek();
    if (
      this.isKeyword('AS') ||
      t.kind === 'quoted' ||
      (t.kind === 'ident' && !this.isReserved(t))
    ) {
      throw validation('Aliasing is not supported');
    }
  }

  // ---- paths

  private path(): PathElems {
    const elems: PathElems = [this.name()];
    for (;;) {
      if (this.isPunct('.')) {
        this.next();
        if (this.isPunct('*'))
          throw validation('Unpivot path component like a.*.b are not supported');
        elems.push(this.name());
      } else if (this.isPunct('[')) {
        this.next();
        const t = this.next();
        if (t.kind === 'number' && /^\d+$/.test(t.text)) elems.push(Number(t.text));
        else if (t.kind === 'string') elems.push(t.text);
        else if (t.kind === 'punct' && t.text === '*') {
          throw validation('Wildcard path component like a[*].b are not supported');
        } else throw malformed('Unexpected term');
        this.expectPunct(']');
      } else return elems;
    }
  }

  // ---- expressions, loosest first

  expr(): Expr {
    return this.or();
  }

  private infix(next: () => Expr, word: 'AND' | 'OR'): Expr {
    let left = next();
    while (this.accept(word)) {
      if (this.peek().kind === 'eof' || this.isPunct(';') || this.isPunct(')')) {
        throw malformed('Missing right-hand side expression of infix operator');
      }
      left = { kind: 'binary', op: word, left, right: next() };
    }
    return left;
  }

  private or(): Expr {
    return this.infix(() => this.and(), 'OR');
  }

  private and(): Expr {
    return this.infix(() => this.not(), 'AND');
  }

  private not(): Expr {
    if (this.accept('NOT')) return this.nested(() => ({ kind: 'not', arg: this.not() }));
    return this.predicate();
  }

  /** Bounds the recursion, so that no statement of 8 KB can exhaust the stack. */
  private nested<T>(f: () => T): T {
    if (++this.depth > maxDepth) throw malformed('Expression nesting is too deep');
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private predicate(): Expr {
    const left = this.additive();
    const t = this.peek();
    if (t.kind === 'punct' && comparators.has(t.text)) {
      this.next();
      const op = (t.text === '!=' ? '<>' : t.text) as BinaryOp;
      return { kind: 'binary', op, left, right: this.additive() };
    }
    const negated =
      this.isKeyword('NOT') && (this.isKeyword('IN', 1) || this.isKeyword('BETWEEN', 1));
    if (negated) this.next();
    const wrap = (e: Expr): Expr => (negated ? { kind: 'not', arg: e } : e);
    if (this.accept('BETWEEN')) {
      const low = this.additive();
      this.expectKeyword('AND');
      return wrap({ kind: 'between', arg: left, low, high: this.additive() });
    }
    if (this.accept('IN')) {
      const close = this.isPunct('[') ? ']' : this.isPunct('(') ? ')' : undefined;
      if (!close) {
        throw validation(
          'IN operator must have a left hand argument of type Variable Reference and right hand argument of type Seq with at least one member',
        );
      }
      this.next();
      const list: Expr[] = [];
      if (!this.isPunct(close)) {
        do list.push(this.additive());
        while (this.isPunct(',') && this.next());
      }
      this.expectPunct(close);
      return wrap({ kind: 'in', arg: left, list });
    }
    if (this.accept('IS')) {
      const not = this.accept('NOT');
      const t = this.next();
      if (t.kind !== 'ident') throw malformed('Expected type name');
      let type = t.text.toUpperCase();
      // Two-word SQL type names.
      if (type === 'DOUBLE' && this.accept('PRECISION')) type = 'DOUBLE PRECISION';
      if (type === 'CHARACTER' && this.accept('VARYING')) type = 'CHARACTER VARYING';
      if (!isTypeNames.has(type)) throw malformed('Expected type name');
      return { kind: 'is', arg: left, type, not };
    }
    return left;
  }

  additive(): Expr {
    let left = this.primary();
    while (this.isPunct('+') || this.isPunct('-')) {
      const op = this.next().text as '+' | '-';
      left = { kind: 'binary', op, left, right: this.primary() };
    }
    return left;
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.kind === 'eof' || this.isPunct(';') || this.isPunct(')'))
      throw malformed('Unexpected term');
    if (t.kind === 'punct') {
      switch (t.text) {
        case '(': {
          this.next();
          const e = this.nested(() => this.expr());
          this.expectPunct(')');
          return e;
        }
        case '?':
          this.next();
          return { kind: 'value', value: this.param() };
        case '-':
          if (this.peek(1).kind === 'number') {
            this.next();
            return { kind: 'value', value: numberValue('-' + this.next().text, 'root') };
          }
          break;
        case '{':
        case '[':
        case '<<':
          return { kind: 'value', value: this.literal('root') };
      }
      throw malformed('Unexpected operator');
    }
    if (t.kind === 'string' || t.kind === 'number') {
      return { kind: 'value', value: this.literal('root') };
    }
    if (t.kind === 'ident') {
      const word = t.text.toUpperCase();
      if (word === 'TRUE' || word === 'FALSE' || word === 'NULL') {
        return { kind: 'value', value: this.literal('root') };
      }
      if (word === 'MISSING') {
        this.next();
        return { kind: 'missing' };
      }
      if (this.isPunct('(', 1)) return this.call();
      if (operatorWords.has(word)) throw malformed('Unexpected operator');
      if (this.isReserved(t)) throw malformed('Unexpected keyword');
    }
    return { kind: 'path', elems: this.path() };
  }

  private call(): Expr {
    const name = this.next().text.toLowerCase();
    this.next();
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      do args.push(this.additive());
      while (this.isPunct(',') && this.next());
    }
    this.expectPunct(')');
    return { kind: 'call', name, args };
  }

  private param(): AttributeValue {
    const v = this.params[this.paramCount];
    this.paramCount++;
    return v ?? { NULL: true };
  }

  /** A constant: scalar, tuple {…} (M), list […] (L), bag <<…>> (SS or NS), or `?`. */
  private literal(at: string): AttributeValue {
    return this.nested(() => this.literalAt(at));
  }

  private literalAt(at: string): AttributeValue {
    const t = this.next();
    if (t.kind === 'string') return { S: t.text };
    if (t.kind === 'number') return numberValue(t.text, at);
    if (t.kind === 'ident') {
      const word = t.text.toUpperCase();
      if (word === 'TRUE' || word === 'FALSE') return { BOOL: word === 'TRUE' };
      if (word === 'NULL') return { NULL: true };
    }
    if (t.kind === 'punct') {
      switch (t.text) {
        case '?':
          return this.param();
        case '-':
          if (this.peek().kind === 'number') return numberValue('-' + this.next().text, at);
          break;
        case '{': {
          const M: Item = {};
          if (!this.isPunct('}')) {
            do {
              const k = this.next();
              if (k.kind !== 'string') {
                throw validation(
                  `Tuple keys must be of type String. Actual type: ${k.kind === 'number' ? 'NUMBER' : 'SYMBOL'} under ${at}`,
                );
              }
              this.expectPunct(':');
              if (Object.hasOwn(M, k.text)) {
                throw validation(`Duplicate keys in tuple. Key: ${k.text} under ${at}`);
              }
              M[k.text] = this.literal(at === 'item' ? 'root' : `${at}.${k.text}`);
            } while (this.isPunct(',') && this.next());
          }
          this.expectPunct('}');
          return { M };
        }
        case '[': {
          const L: AttributeValue[] = [];
          if (!this.isPunct(']')) {
            do L.push(this.literal(`${at}[${L.length}]`));
            while (this.isPunct(',') && this.next());
          }
          this.expectPunct(']');
          return { L };
        }
        case '<<': {
          const members: AttributeValue[] = [];
          if (!this.isPunct('>>')) {
            do members.push(this.literal(`${at}[${members.length}]`));
            while (this.isPunct(',') && this.next());
          }
          this.expectPunct('>>');
          return bagValue(members);
        }
      }
    }
    throw malformed('Unexpected term');
  }
}

const isTypeNames = new Set([
  'MISSING',
  'NULL',
  'BOOLEAN',
  'BOOL',
  'BLOB',
  'STRING',
  'VARCHAR',
  'CHAR',
  'CHARACTER',
  'CHARACTER VARYING',
  'NUMERIC',
  'DECIMAL',
  'DEC',
  'INT',
  'INTEGER',
  'INT4',
  'INT8',
  'SMALLINT',
  'BIGINT',
  'FLOAT',
  'REAL',
  'DOUBLE PRECISION',
  'STRUCT',
  'TUPLE',
  'LIST',
  'SEXP',
  'BAG',
  'CLOB',
  'SYMBOL',
  'TIMESTAMP',
  'DATE',
  'TIME',
]);

const int32 = (n: number) => n >= -(2 ** 31) && n < 2 ** 31;

function numberValue(text: string, at: string): AttributeValue {
  // PartiQL keeps a literal's scale (digits after the point less the exponent) in
  // 32 bits: beyond that the literal is a lexical error, with no detail.
  const m = /^-?\d*(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
  const exp = Number(m[2] ?? 0);
  if (!int32(exp) || !int32((m[1]?.length ?? 0) - exp)) throw malformed('');
  const d = parseDecimal(text);
  if (!d) throw malformed('');
  const err = decimalRangeError(d);
  if (err) throw validation(`${err} under ${at}`);
  return { N: formatDecimal(d) };
}

function bagValue(members: AttributeValue[]): AttributeValue {
  if (!members.length) throw validation('Empty bags are not supported');
  const unsupported = () =>
    validation(
      'Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags',
    );
  const set: AttributeValue = members.every((m) => m.S !== undefined)
    ? { SS: members.map((m) => m.S!) }
    : members.every((m) => m.N !== undefined)
      ? { NS: members.map((m) => m.N!) }
      : members.every((m) => m.B !== undefined)
        ? { BS: members.map((m) => m.B!) }
        : (() => {
            throw unsupported();
          })();
  // Duplicates and the other set rules are the ordinary AttributeValue rules.
  return checkValue(set);
}

export function pathString(p: PathElems): string {
  return p.map((e, i) => (typeof e === 'number' ? `[${e}]` : i === 0 ? e : `.${e}`)).join('');
}

/**
 * Parses one statement with its Parameters (already checked attribute values).
 * Throws DynamoDB's ValidationException for anything it refuses.
 */
export function parseStatement(src: string, params: AttributeValue[] = []): Statement {
  if (!src.trim()) throw malformed('Unexpected term');
  const p = new Parser(src, params);
  const s = p.statement();
  if (p.paramCount !== params.length) {
    throw validation("Number of parameters in request and statement don't match.");
  }
  return s;
}
