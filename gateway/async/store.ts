// The async queue's state, behind one interface with two engines: Redis (one Lua
// script per state transition, shared by every gateway replica) and memory (the
// embedded `selfless dev` mode, same transitions, gone on restart). An event is in
// exactly one state: ready -> leased -> (done | delayed -> ready ... | dead).
import type { RecursionConfigStore } from '../recursion.ts';

export interface NewEvent {
  id: string;
  functionName: string;
  /** The raw event, JSON text. */
  payload: string;
  requestId: string;
  clientContext?: string;
  /** The X-Ray trace header it was sent with: its Lineage counts the chain (../recursion.ts). */
  traceId?: string;
}

export interface QueuedEvent extends NewEvent {
  /** When the event was accepted (or redriven): its age counts from here. */
  enqueuedAt: number;
  /** When this attempt became due: dispatch lag is measured from here. */
  dueAt: number;
  /** Invocations attempted so far (Lambda's approximateInvokeCount). */
  invokes: number;
  functionErrors: number;
  /** Retries after throttles and system errors (they drive the backoff). */
  systemRetries: number;
}

/** Counters written back when an attempt fails and the event waits for another. */
export interface RetryUpdate {
  invokes: number;
  functionErrors: number;
  systemRetries: number;
  lastError: string;
}

export type DeadCondition = 'RetriesExhausted' | 'EventAgeExceeded';

/** Where a destination record goes, decided before the transition. */
export type Delivery =
  | { kind: 'queue'; queue: string; record: string }
  | {
      kind: 'function';
      functionName: string;
      id: string;
      record: string;
      /** The header of the invocation that led to it, so the chain goes on counting. */
      traceId?: string;
    };

export interface DeadLetter {
  event: QueuedEvent;
  condition: DeadCondition;
  deadAt: number;
  /** The destination record (JSON), also what onFailure received. */
  record: string;
}

export interface QueueStats {
  ready: number;
  delayed: number;
  leased: number;
  /** Enqueue time of the oldest live event, if any. */
  oldestEnqueuedAt?: number;
}

export interface EventStore extends RecursionConfigStore {
  readonly durable: boolean;
  /** Resolves once the event is stored; false when this id exists already. */
  enqueue(event: NewEvent): Promise<boolean>;
  claim(max: number, leaseMs: number, token: string): Promise<QueuedEvent[]>;
  extendLeases(ids: string[], leaseMs: number, token: string): Promise<number>;
  /** The transitions below throw LeaseLost when the token no longer holds the event. */
  complete(event: QueuedEvent, token: string, delivery?: Delivery): Promise<void>;
  retry(event: QueuedEvent, token: string, dueAt: number, update: RetryUpdate): Promise<void>;
  deadLetter(
    event: QueuedEvent,
    token: string,
    condition: DeadCondition,
    record: string,
    delivery?: Delivery,
  ): Promise<void>;
  recoverExpiredLeases(max: number): Promise<number>;
  /** Throws NotDeadLettered when the function has no such dead letter. */
  redrive(functionName: string, id: string): Promise<void>;
  listDeadLetters(functionName: string, limit: number): Promise<DeadLetter[]>;
  getDeadLetter(functionName: string, id: string): Promise<DeadLetter | undefined>;
  stats(): Promise<QueueStats>;
  /** A destination record outside an event's transitions (an event source mapping's onFailure). */
  deliverRecord(delivery: Delivery): Promise<void>;
  /** Records delivered to a `queue:<name>` destination, oldest first, removed as read. */
  takeFromQueue(queue: string, max: number): Promise<string[]>;

  /** Event invoke configuration set through the API (overrides the spec). */
  getConfig(functionName: string): Promise<string | undefined>;
  putConfig(functionName: string, json: string): Promise<void>;
  deleteConfig(functionName: string): Promise<void>;

  /** The next tick of a schedule; the first caller sets it. */
  scheduleNext(key: string, initial: number): Promise<number>;
  /** See lua/fireSchedule.lua. */
  fireSchedule(key: string, seen: number, next: number, event: NewEvent): Promise<boolean>;

  close(): Promise<void>;
}

export class LeaseLost extends Error {
  constructor(readonly id: string) {
    super(`lease on event ${id} was lost`);
  }
}

export class NotDeadLettered extends Error {
  constructor(readonly id: string) {
    super(`no dead letter ${id}`);
  }
}
