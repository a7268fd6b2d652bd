// The parsers' shared shape: a result that is a value or every field error found (so
// a user fixes a manifest in one pass), and the checker that collects them. Function
// and Table manifests, files and custom objects, are all parsed with it.
export interface FieldError {
  field: string;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Checker {
  readonly errors: FieldError[] = [];
  fail(field: string, message: string): void {
    this.errors.push({ field, message });
  }
  int(
    obj: Record<string, unknown>,
    key: string,
    path: string,
    range: { min: number; max: number; default?: number },
  ): number | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return range.default;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.fail(path, `must be an integer, got ${JSON.stringify(v)}`);
      return range.default;
    }
    if (v < range.min || v > range.max) {
      this.fail(path, `must be between ${range.min} and ${range.max}, got ${v}`);
    }
    return v;
  }
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
}

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) {
      next[j] = Math.min(
        row[j]! + 1,
        next[j - 1]! + 1,
        row[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
    row = next;
  }
  return row[y.length]!;
}

/** The known name closest to a misspelt one, so a refusal can say what was meant. */
export function nearestName(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** "unknown field x (did you mean y?)": the words every parser refuses a stray field with. */
export function unknownFieldMessage(field: string, known: readonly string[]): string {
  const near = nearestName(field, known);
  return `unknown field ${JSON.stringify(field)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`;
}
