// DAX's order-preserving number encoding, used for a numeric sort key inside the
// key bytes (the client's LexDecimal.js): a header byte for sign and exponent, then
// the digits in base 1000, 10 bits each, closed by a terminator digit that says how
// many decimal digits the last group holds. Negative numbers are stored inverted.
import { formatDecimal, parseDecimal, type Decimal } from '../decimal.ts';

export function encodeLexDecimal(d: Decimal): Buffer {
  if (d.sign === 0) return Buffer.from([0x80]);
  const neg = d.sign < 0;
  const exponent = d.exp;
  const out: number[] = [];
  if (exponent >= -0x3e && exponent < 0x3e) {
    out.push(neg ? 0x3f - exponent : exponent + 0xc0);
  } else {
    const b = Buffer.alloc(5);
    b[0] = neg ? (exponent < 0 ? 0x7e : 1) : exponent < 0 ? 0x81 : 0xfe;
    b.writeInt32BE(exponent ^ (neg ? 0x7fffffff : 0x80000000), 1);
    out.push(...b);
  }
  let unscaled = BigInt(d.digits) * (neg ? -1n : 1n);
  let terminator: number;
  switch (d.digits.length % 3) {
    case 1:
      terminator = 0;
      unscaled *= 100n;
      break;
    case 2:
      terminator = 1;
      unscaled *= 10n;
      break;
    default:
      terminator = 2;
  }
  const adjust = neg ? 999 + 12 : 12;
  if (neg) terminator = 1023 - terminator;
  const digits: number[] = [];
  while (unscaled !== 0n) {
    digits.unshift(Number(unscaled % 1000n) + adjust);
    unscaled /= 1000n;
  }
  digits.push(terminator);
  let accum = 0;
  let bits = 0;
  for (const digit of digits) {
    accum = (accum << 10) | digit;
    bits += 10;
    do {
      bits -= 8;
      out.push((accum >> bits) & 0xff);
    } while (bits >= 8);
  }
  if (bits !== 0) out.push((accum << (8 - bits)) & 0xff);
  return Buffer.from(out);
}

/** The number a LexDecimal encoding holds, in DynamoDB's plain notation. */
export function decodeLexDecimal(src: Buffer): string {
  let pos = 0;
  const header = src[pos]!;
  let adjust: number;
  let exponent: number;
  if (header === 0x7f || header === 0x80) return '0';
  if (header === 0xff || header === 0x00) throw new Error('LexDecimal: null is not a key');
  if (header === 1 || header === 0x7e) {
    adjust = 999 + 12;
    exponent = src.readInt32BE(1) ^ 0x7fffffff;
    pos += 5;
  } else if (header === 0x81 || header === 0xfe) {
    adjust = 12;
    exponent = src.readInt32BE(1) ^ 0x80000000;
    pos += 5;
  } else {
    pos++;
    if (header >= 0x82) {
      adjust = 12;
      exponent = header - 0xc0;
    } else {
      adjust = 999 + 12;
      exponent = 0x3f - header;
    }
  }
  let unscaled: bigint | undefined;
  let last: bigint | undefined;
  let precision = 0;
  let accum = 0;
  let bits = 0;
  for (;;) {
    if (pos >= src.length) throw new Error('LexDecimal: no terminator');
    accum = ((accum << 8) | src[pos++]!) & 0xffffff;
    bits += 8;
    if (bits < 10) continue;
    const digit = (accum >> (bits - 10)) & 0x3ff;
    bits -= 10;
    const group = (keep: bigint, scale: bigint, count: number) => {
      const v = (last ?? 0n) / keep;
      unscaled = unscaled === undefined ? v : unscaled * scale + v;
      precision += count;
    };
    if (digit === 0 || digit === 1023) {
      group(100n, 10n, 1);
      break;
    }
    if (digit === 1 || digit === 1022) {
      group(10n, 100n, 2);
      break;
    }
    if (digit === 2 || digit === 1021) {
      group(1n, 1000n, 3);
      break;
    }
    if (last !== undefined) group(1n, 1000n, 3);
    last = BigInt(digit - adjust);
  }
  const scale = precision - exponent;
  return formatDecimal(parseDecimal(`${unscaled ?? 0n}e${-scale}`)!);
}
