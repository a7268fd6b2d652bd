// EventBridge schedule expressions, UTC, one-minute precision:
//   rate(N minute|minutes|hour|hours|day|days)   singular only for 1, plural otherwise
//   cron(minutes hours day-of-month month day-of-week year)
// with , - * / everywhere, ? in exactly one of the two day fields, L and W in
// day-of-month (L, LW, 15W), L and # in day-of-week (L = Saturday, 6L = last
// Friday, 2#3 = third Monday). Days of week are 1-7 = SUN-SAT; names are accepted
// for months and days. Rates tick at whole multiples of their period since the
// Unix epoch, so every replica computes the same ticks.

export class ScheduleExpressionError extends Error {}

export interface Schedule {
  readonly expression: string;
  /** The first tick strictly after `afterMs`, or undefined when there is none (year range over). */
  next(afterMs: number): number | undefined;
}

const MINUTE = 60_000;
const UNITS: Record<string, number> = {
  minute: MINUTE,
  minutes: MINUTE,
  hour: 60 * MINUTE,
  hours: 60 * MINUTE,
  day: 1440 * MINUTE,
  days: 1440 * MINUTE,
};

export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) return parseRate(expression, rate[1]!.trim());
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return parseCron(expression, cron[1]!.trim());
  throw new ScheduleExpressionError(`${expression}: must be rate(...) or cron(...)`);
}

function parseRate(expression: string, body: string): Schedule {
  const m = /^(\d+)\s+([a-z]+)$/.exec(body);
  if (!m) throw new ScheduleExpressionError(`${expression}: must be rate(value unit)`);
  const value = Number(m[1]);
  const unit = m[2]!;
  if (!(unit in UNITS)) {
    throw new ScheduleExpressionError(`${expression}: unit must be minute(s), hour(s) or day(s)`);
  }
  if (value < 1) throw new ScheduleExpressionError(`${expression}: value must be positive`);
  const plural = unit.endsWith('s');
  if (value === 1 && plural) {
    throw new ScheduleExpressionError(`${expression}: a value of 1 takes a singular unit`);
  }
  if (value > 1 && !plural) {
    throw new ScheduleExpressionError(`${expression}: a value above 1 takes a plural unit`);
  }
  const period = value * UNITS[unit]!;
  return { expression, next: (after) => (Math.floor(after / period) + 1) * period };
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const FIELDS = {
  minutes: { name: 'minutes', min: 0, max: 59 },
  hours: { name: 'hours', min: 0, max: 23 },
  dom: { name: 'day-of-month', min: 1, max: 31 },
  month: { name: 'month', min: 1, max: 12, names: MONTHS },
  dow: { name: 'day-of-week', min: 1, max: 7, names: DAYS },
  year: { name: 'year', min: 1970, max: 2199 },
} satisfies Record<string, FieldSpec>;

function value(expression: string, f: FieldSpec, s: string): number {
  const named = f.names?.indexOf(s.toUpperCase()) ?? -1;
  const n = named >= 0 ? named + f.min : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!(n >= f.min && n <= f.max)) {
    throw new ScheduleExpressionError(
      `${expression}: ${f.name} value ${JSON.stringify(s)} is not in ${f.min}-${f.max}`,
    );
  }
  return n;
}

/** A list of *, a, a-b (wrapping past the maximum), each optionally /step. */
function parseSet(expression: string, f: FieldSpec, text: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m)
      throw new ScheduleExpressionError(`${expression}: bad ${f.name} ${JSON.stringify(part)}`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1)
      throw new ScheduleExpressionError(`${expression}: ${f.name} step must be positive`);
    let from: number;
    let to: number;
    if (m[1] === '*') [from, to] = [f.min, f.max];
    else if (m[1]!.includes('-')) {
      const [a, b, ...rest] = m[1]!.split('-');
      if (rest.length) {
        throw new ScheduleExpressionError(`${expression}: bad ${f.name} range ${m[1]}`);
      }
      from = value(expression, f, a!);
      to = value(expression, f, b!);
    } else {
      from = value(expression, f, m[1]!);
      to = m[2] === undefined ? from : f.max;
    }
    const span = f.max - f.min + 1;
    const length = (to - from + span) % span;
    for (let i = 0; i <= length; i += step) out.add(((from - f.min + i) % span) + f.min);
  }
  return out;
}

type DayRule = (y: number, m: number, d: number) => boolean;

const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const weekday = (y: number, m: number, d: number) =>
  new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 1;

/** The weekday (Mon-Fri) nearest to day `d`, never leaving the month. */
function nearestWeekday(y: number, m: number, d: number): number {
  const last = daysIn(y, m);
  const day = Math.min(d, last);
  const wd = weekday(y, m, day);
  if (wd === 7) return day === 1 ? 3 : day - 1;
  if (wd === 1) return day === last ? day - 2 : day + 1;
  return day;
}

function parseDom(expression: string, text: string): DayRule {
  if (text === 'L') return (y, m, d) => d === daysIn(y, m);
  if (text === 'LW') {
    return (y, m, d) => d === nearestWeekday(y, m, daysIn(y, m));
  }
  const w = /^(\d+)W$/.exec(text);
  if (w) {
    const n = value(expression, FIELDS.dom, w[1]!);
    return (y, m, d) => d === nearestWeekday(y, m, n);
  }
  if (/[LW#]/.test(text)) {
    throw new ScheduleExpressionError(
      `${expression}: day-of-month takes L, LW or nW alone, got ${JSON.stringify(text)}`,
    );
  }
  const set = parseSet(expression, FIELDS.dom, text);
  return (_y, _m, d) => set.has(d);
}

function parseDow(expression: string, text: string): DayRule {
  if (text === 'L') return (y, m, d) => weekday(y, m, d) === 7;
  const last = /^(\w+)L$/.exec(text);
  if (last) {
    const n = value(expression, FIELDS.dow, last[1]!);
    return (y, m, d) => weekday(y, m, d) === n && d + 7 > daysIn(y, m);
  }
  const nth = /^(\w+)#(\d+)$/.exec(text);
  if (nth) {
    const n = value(expression, FIELDS.dow, nth[1]!);
    const k = Number(nth[2]);
    if (k < 1 || k > 5) {
      throw new ScheduleExpressionError(`${expression}: the # occurrence must be 1-5, got ${k}`);
    }
    return (y, m, d) => weekday(y, m, d) === n && Math.ceil(d / 7) === k;
  }
  if (/[LW#]/.test(text.toUpperCase().replace(/SUN|MON|TUE|WED|THU|FRI|SAT/g, ''))) {
    throw new ScheduleExpressionError(
      `${expression}: day-of-week takes L, nL or n#k alone, got ${JSON.stringify(text)}`,
    );
  }
  const set = parseSet(expression, FIELDS.dow, text);
  return (y, m, d) => set.has(weekday(y, m, d));
}

function parseCron(expression: string, body: string): Schedule {
  const parts = body.split(/\s+/);
  if (parts.length !== 6) {
    throw new ScheduleExpressionError(
      `${expression}: cron takes six fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`,
    );
  }
  const [min, hour, dom, month, dow, year] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleExpressionError(
      `${expression}: exactly one of day-of-month and day-of-week must be ?`,
    );
  }
  for (const [f, t] of [
    [FIELDS.minutes, min],
    [FIELDS.hours, hour],
    [FIELDS.month, month],
    [FIELDS.year, year],
  ] as const) {
    // L and W are refused as values below; month names (JUL) contain them.
    if (/[?#]/.test(t)) {
      throw new ScheduleExpressionError(`${expression}: ${f.name} does not take ? L W #`);
    }
  }
  const minutes = [...parseSet(expression, FIELDS.minutes, min)].sort((a, b) => a - b);
  const hours = [...parseSet(expression, FIELDS.hours, hour)].sort((a, b) => a - b);
  const months = parseSet(expression, FIELDS.month, month);
  const years = parseSet(expression, FIELDS.year, year);
  const lastYear = Math.max(...years);
  const day = dom === '?' ? parseDow(expression, dow) : parseDom(expression, dom);

  return {
    expression,
    next(after) {
      const start = new Date((Math.floor(after / MINUTE) + 1) * MINUTE);
      let y = start.getUTCFullYear();
      let m = start.getUTCMonth() + 1;
      let d = start.getUTCDate();
      let fromMinute = start.getUTCHours() * 60 + start.getUTCMinutes();
      while (y <= lastYear) {
        if (!years.has(y)) {
          [y, m, d, fromMinute] = [y + 1, 1, 1, 0];
          continue;
        }
        if (!months.has(m)) {
          [m, d, fromMinute] = [m + 1, 1, 0];
          if (m > 12) [y, m] = [y + 1, 1];
          continue;
        }
        if (day(y, m, d)) {
          for (const h of hours) {
            for (const mi of minutes) {
              if (h * 60 + mi >= fromMinute) return Date.UTC(y, m - 1, d, h, mi);
            }
          }
        }
        fromMinute = 0;
        d++;
        if (d > daysIn(y, m)) {
          [m, d] = [m + 1, 1];
          if (m > 12) [y, m] = [y + 1, 1];
        }
      }
      return undefined;
    },
  };
}
