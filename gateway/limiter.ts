// Concurrency quotas, as Lambda counts them. Every function draws either on its
// own reservation (reservedConcurrentExecutions) or on the account's unreserved
// pool: accountLimit minus all reservations. A function with a reservation never
// touches the pool, and a reservation of 0 always throttles.
//
// The in-process limiter counts exactly (one Node event loop, no awaits between
// check and increment). A cluster-wide implementation (Redis leases) sits behind
// the same interface.

export type ThrottleReason =
  'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded';

export interface Lease {
  release(): void;
}

export type Admission = { ok: true; lease: Lease } | { ok: false; reason: ThrottleReason };

export interface ConcurrencyLimiter {
  /** `reserved` is the function's reservedConcurrentExecutions, if it has one. */
  acquire(functionName: string, reserved: number | undefined): Promise<Admission>;
  /** In-flight executions: of one function, or of the whole account. */
  inFlight(functionName?: string): number;
}

export interface AccountQuotas {
  /** Total concurrent executions of the account (Lambda's default: 1000). */
  accountLimit: number;
  /** What reservations may not eat into (Lambda's default: 100). */
  unreservedFloor: number;
}

export const DEFAULT_QUOTAS: AccountQuotas = { accountLimit: 1000, unreservedFloor: 100 };

export class InProcessLimiter implements ConcurrencyLimiter {
  private readonly perFunction = new Map<string, number>();
  private unreservedInFlight = 0;
  private total = 0;

  /** `reservedTotal()` is the sum of all functions' reservations, read at each call. */
  constructor(
    private readonly quotas: AccountQuotas,
    private readonly reservedTotal: () => number,
  ) {}

  acquire(functionName: string, reserved: number | undefined): Promise<Admission> {
    const current = this.perFunction.get(functionName) ?? 0;
    if (reserved !== undefined) {
      if (current >= reserved) {
        return Promise.resolve({
          ok: false,
          reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
        });
      }
    } else if (this.unreservedInFlight >= this.quotas.accountLimit - this.reservedTotal()) {
      return Promise.resolve({ ok: false, reason: 'ConcurrentInvocationLimitExceeded' });
    }
    this.perFunction.set(functionName, current + 1);
    this.total++;
    const fromPool = reserved === undefined;
    if (fromPool) this.unreservedInFlight++;
    let released = false;
    const lease: Lease = {
      release: () => {
        if (released) return;
        released = true;
        const n = (this.perFunction.get(functionName) ?? 1) - 1;
        if (n === 0) this.perFunction.delete(functionName);
        else this.perFunction.set(functionName, n);
        this.total--;
        if (fromPool) this.unreservedInFlight--;
      },
    };
    return Promise.resolve({ ok: true, lease });
  }

  inFlight(functionName?: string): number {
    return functionName === undefined ? this.total : (this.perFunction.get(functionName) ?? 0);
  }
}

/**
 * Lambda refuses a reservation that would leave the unreserved pool below its floor.
 * Returns the error message Lambda gives, or undefined when the change is allowed.
 */
export function checkReservation(
  quotas: AccountQuotas,
  otherReservations: number,
  requested: number,
): string | undefined {
  if (quotas.accountLimit - otherReservations - requested < quotas.unreservedFloor) {
    return `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${quotas.unreservedFloor}].`;
  }
  return undefined;
}

/** The same rule for a whole set of declared functions (a folder of manifests). */
export function checkDeclaredReservations(
  quotas: AccountQuotas,
  functions: { spec: { reservedConcurrentExecutions?: number } }[],
): string | undefined {
  const reserved = functions.reduce((n, f) => n + (f.spec.reservedConcurrentExecutions ?? 0), 0);
  const refusal = checkReservation(quotas, 0, reserved);
  return (
    refusal && `reservedConcurrentExecutions of all functions add up to ${reserved}: ${refusal}`
  );
}
