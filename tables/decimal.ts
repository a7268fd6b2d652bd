// Exact decimal numbers for DynamoDB's N type: 38 significant digits, magnitude
// 1E-130 to 9.99…E+125. JavaScript floats would silently round ("0.1" + "0.2"),
// so values are kept as digit strings and added through BigInt.

/** value = sign × 0.digits × 10^exp; digits has no leading or trailing zeros. */
export interface Decimal {
  sign: -1 | 0 | 1;
  digits: string;
  exp: number;
}

const ZERO: Decimal = { sign: 0, digits: '', exp: 0 };
const syntax = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parses DynamoDB's number syntax; undefined when it is not a number. */
export function parseDecimal(text: string): Decimal | undefined {
  const m = syntax.exec(text.trim());
  if (!m) return undefined;
  const int = m[2] ?? '';
  const frac = m[3] ?? '';
  if (int === '' && frac === '') return undefined;
  if (m[4] !== undefined && m[4].length > 10) return undefined;
  const all = int + frac;
  const lead = all.search(/[1-9]/);
  if (lead < 0) return ZERO;
  const digits = all.slice(lead).replace(/0+$/, '');
  const exp = int.length - lead + Number(m[4] ?? 0);
  return { sign: m[1] === '-' ? -1 : 1, digits, exp };
}

/** DynamoDB's message when a number is out of range, or undefined when it fits. */
export function decimalRangeError(d: Decimal): string | undefined {
  if (d.sign === 0) return undefined;
  if (d.exp - 1 > 125) {
    return 'Number overflow. Attempting to store a number with magnitude larger than supported range';
  }
  if (d.exp - 1 < -130) {
    return 'Number underflow. Attempting to store a number with magnitude smaller than supported range';
  }
  if (d.digits.length > 38)
    return 'Attempting to store more than 38 significant digits in a Number';
  return undefined;
}

/** Plain notation without exponent, the way DynamoDB returns numbers. */
export function formatDecimal(d: Decimal): string {
  if (d.sign === 0) return '0';
  const { digits, exp } = d;
  let body: string;
  if (exp <= 0) body = '0.' + '0'.repeat(-exp) + digits;
  else if (exp >= digits.length) body = digits + '0'.repeat(exp - digits.length);
  else body = digits.slice(0, exp) + '.' + digits.slice(exp);
  return d.sign < 0 ? '-' + body : body;
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  if (a.sign !== b.sign) return a.sign < b.sign ? -1 : 1;
  if (a.sign === 0) return 0;
  let mag: number;
  if (a.exp !== b.exp) mag = a.exp < b.exp ? -1 : 1;
  else mag = a.digits === b.digits ? 0 : a.digits < b.digits ? -1 : 1;
  return mag * a.sign;
}

function toScaled(d: Decimal): { n: bigint; scale: number } {
  // value = n × 10^scale
  if (d.sign === 0) return { n: 0n, scale: 0 };
  const n = BigInt(d.digits);
  return { n: d.sign < 0 ? -n : n, scale: d.exp - d.digits.length };
}

function fromScaled(n: bigint, scale: number): Decimal {
  if (n === 0n) return ZERO;
  const sign = n < 0n ? -1 : 1;
  const raw = (n < 0n ? -n : n).toString();
  const digits = raw.replace(/0+$/, '');
  return { sign, digits, exp: raw.length + scale };
}

export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const x = toScaled(a);
  const y = toScaled(b);
  const scale = Math.min(x.scale, y.scale);
  const n = x.n * 10n ** BigInt(x.scale - scale) + y.n * 10n ** BigInt(y.scale - scale);
  return fromScaled(n, scale);
}

export function negateDecimal(a: Decimal): Decimal {
  return a.sign === 0 ? a : { ...a, sign: a.sign < 0 ? 1 : -1 };
}

/**
 * Bytes whose unsigned order equals numeric order, for engines that sort keys as
 * blobs. Layout: class byte (negative 0x01, zero 0x02, positive 0x03), the biased
 * exponent in two bytes, then the digits. Negative numbers invert exponent and
 * digits and end in 0xff so that a shorter digit string (smaller magnitude) sorts
 * after its extensions.
 */
export function encodeDecimalKey(d: Decimal): Buffer {
  if (d.sign === 0) return Buffer.from([0x02]);
  const e = d.exp + 0x8000;
  if (d.sign > 0) {
    const out = Buffer.alloc(3 + d.digits.length);
    out[0] = 0x03;
    out.writeUInt16BE(e, 1);
    out.write(d.digits, 3, 'latin1');
    return out;
  }
  const out = Buffer.alloc(4 + d.digits.length);
  out[0] = 0x01;
  out.writeUInt16BE(0xffff - e, 1);
  for (let i = 0; i < d.digits.length; i++) out[3 + i] = 0xff - d.digits.charCodeAt(i);
  out[3 + d.digits.length] = 0xff;
  return out;
}
