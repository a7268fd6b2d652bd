// Target tracking for a Table's provisioned throughput, as Application Auto Scaling
// runs it for DynamoDB: utilization is consumed units per second (one-minute
// averages) over provisioned units. Scale-out when utilization stays above the target
// for 2 consecutive minutes (its high alarm: 2 of 2 one-minute datapoints), to the
// capacity that brings the last minute back to the target; scale-in when it stays
// below the target less 20 points for 15 consecutive minutes (its low alarm), to the
// capacity the busiest of those minutes needs at the target. Always within
// [minCapacity, maxCapacity]; a capacity outside them is brought inside at once. A
// scale-out waits out scaleOutCooldown after the last scale-out; a scale-in waits out
// scaleInCooldown after any scaling (a scale-out is not held back by a scale-in).
// The table service's limit on decreases per day still applies: a refused decrease
// is the reconciler's Event, and the next pass tries again.

export interface ScalingPolicy {
  minCapacity: number;
  maxCapacity: number;
  /** Percent, 20-90. */
  targetUtilization: number;
  /** Seconds; default 0, as Application Auto Scaling's default for DynamoDB. */
  scaleOutCooldown?: number;
  /** Seconds; default 0. */
  scaleInCooldown?: number;
}

export interface ScalingHistory {
  /** Epoch ms of the last scale-out and scale-in made. */
  lastScaleOut?: number;
  lastScaleIn?: number;
}

export interface ScalingDecision {
  capacity: number;
  direction: 'out' | 'in';
  reason: string;
}

export const highAlarmMinutes = 2;
export const lowAlarmMinutes = 15;
const lowAlarmPoints = 20;

/**
 * What the capacity of one dimension (table or GSI, read or write) should become, or
 * undefined to leave it. `perSecond` holds one-minute averages of consumed units per
 * second, oldest first, whole minutes only.
 */
export function decide(
  policy: ScalingPolicy,
  provisioned: number,
  perSecond: number[],
  history: ScalingHistory,
  now: number,
): ScalingDecision | undefined {
  const { minCapacity: min, maxCapacity: max } = policy;
  const target = policy.targetUtilization / 100;
  const clamp = (n: number) => Math.min(max, Math.max(min, n));
  if (provisioned < min)
    return { capacity: min, direction: 'out', reason: `below minCapacity ${min}` };
  if (provisioned > max)
    return { capacity: max, direction: 'in', reason: `above maxCapacity ${max}` };
  const utilization = (u: number) => (provisioned > 0 ? u / provisioned : Infinity);

  const high = perSecond.slice(-highAlarmMinutes);
  if (high.length === highAlarmMinutes && high.every((u) => utilization(u) > target)) {
    const wanted = clamp(Math.ceil(high.at(-1)! / target));
    const cooling =
      history.lastScaleOut !== undefined &&
      now - history.lastScaleOut < (policy.scaleOutCooldown ?? 0) * 1000;
    if (wanted > provisioned && !cooling) {
      return {
        capacity: wanted,
        direction: 'out',
        reason: `utilization above ${policy.targetUtilization}% for ${highAlarmMinutes} minutes (last ${pct(utilization(high.at(-1)!))})`,
      };
    }
    return undefined;
  }

  const low = perSecond.slice(-lowAlarmMinutes);
  const lowThreshold = Math.max(0, policy.targetUtilization - lowAlarmPoints) / 100;
  if (low.length === lowAlarmMinutes && low.every((u) => utilization(u) < lowThreshold)) {
    const wanted = clamp(Math.ceil(Math.max(...low) / target));
    const last = Math.max(history.lastScaleIn ?? -Infinity, history.lastScaleOut ?? -Infinity);
    const cooling = now - last < (policy.scaleInCooldown ?? 0) * 1000;
    if (wanted < provisioned && !cooling) {
      return {
        capacity: wanted,
        direction: 'in',
        reason: `utilization below ${policy.targetUtilization - lowAlarmPoints}% for ${lowAlarmMinutes} minutes (busiest ${pct(utilization(Math.max(...low)))})`,
      };
    }
  }
  return undefined;
}

const pct = (u: number) => `${Math.round(u * 100)}%`;
