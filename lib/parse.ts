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
