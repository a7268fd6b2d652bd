// DynamoDB's limit on throughput decreases: four per UTC day at any time, and after
// those one more whenever no decrease was made in the past hour (at most 27 a day).
// Increases are not limited. The count lives in the ProvisionedThroughput
// description (NumberOfDecreasesToday, LastDecreaseDateTime in epoch seconds), as
// DynamoDB reports it, and starts again at 0 on a new UTC day.
import { DynamoError } from '../errors.ts';

export const freeDecreasesPerDay = 4;
const hourMs = 3_600_000;

export interface ThroughputDescription {
  NumberOfDecreasesToday?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
  LastDecreaseDateTime?: number;
  LastIncreaseDateTime?: number;
}

const utcDay = (ms: number) => Math.floor(ms / 86_400_000);

/** Decreases made on the UTC day of `now`. */
export function decreasesToday(t: ThroughputDescription, now: number): number {
  if (t.LastDecreaseDateTime == null) return 0;
  return utcDay(t.LastDecreaseDateTime * 1000) === utcDay(now)
    ? (t.NumberOfDecreasesToday ?? 0)
    : 0;
}

const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const months = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** A time as DynamoDB writes it in this message: "Wednesday, December 2, 2026 3:04:05 AM UTC". */
export function longUtc(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${months[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${h % 12 || 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'} UTC`;
}

/** Throws LimitExceededException when a decrease now is past DynamoDB's limit. */
export function checkDecrease(t: ThroughputDescription, now: number): void {
  const count = decreasesToday(t, now);
  if (count < freeDecreasesPerDay) return;
  const last = t.LastDecreaseDateTime! * 1000;
  if (now - last >= hourMs) return;
  throw new DynamoError(
    'LimitExceededException',
    `Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first ${freeDecreasesPerDay} decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: ${count}. Last decrease at ${longUtc(last)}. Next decrease can be made at ${longUtc(last + hourMs)}`,
  );
}

/**
 * The description after a change to `next` units at `now` (epoch ms): a decrease
 * of either unit counts once and is checked against the limit first.
 */
export function applyThroughput(
  old: ThroughputDescription,
  next: { ReadCapacityUnits: number; WriteCapacityUnits: number },
  now: number,
): ThroughputDescription {
  const decrease =
    next.ReadCapacityUnits < (old.ReadCapacityUnits ?? 0) ||
    next.WriteCapacityUnits < (old.WriteCapacityUnits ?? 0);
  const increase =
    next.ReadCapacityUnits > (old.ReadCapacityUnits ?? 0) ||
    next.WriteCapacityUnits > (old.WriteCapacityUnits ?? 0);
  if (decrease) checkDecrease(old, now);
  const out: ThroughputDescription = {
    ...old,
    NumberOfDecreasesToday: decreasesToday(old, now) + (decrease ? 1 : 0),
    ReadCapacityUnits: next.ReadCapacityUnits,
    WriteCapacityUnits: next.WriteCapacityUnits,
  };
  if (decrease) out.LastDecreaseDateTime = now / 1000;
  if (increase) out.LastIncreaseDateTime = now / 1000;
  return out;
}
