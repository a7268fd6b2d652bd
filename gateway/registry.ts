// The functions the gateway serves, by Lambda function name. Locally they come
// from manifests; in a cluster from the Function resources. Reservations changed
// through the API (PutFunctionConcurrency) live here too.
import { EventEmitter } from 'node:events';
import { keyOf, type FunctionDefinition } from '../lib/function.ts';

export interface RegistryEvents {
  /** A function was added, or its definition replaced (`previous` set). */
  changed: [fn: FunctionDefinition, previous: FunctionDefinition | undefined];
  removed: [fn: FunctionDefinition];
}

export class FunctionRegistry extends EventEmitter<RegistryEvents> {
  private readonly functions = new Map<string, FunctionDefinition>();
  /** Bumped on every change, so environments know which definition they run. */
  private readonly versions = new Map<string, number>();

  /** By key: the name in `default`, namespace/name elsewhere (functionKey). */
  get(key: string): FunctionDefinition | undefined {
    return this.functions.get(key);
  }

  version(name: string): number {
    return this.versions.get(name) ?? 0;
  }

  list(): FunctionDefinition[] {
    return [...this.functions.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  }

  put(fn: FunctionDefinition): void {
    const key = keyOf(fn);
    const previous = this.functions.get(key);
    this.functions.set(key, fn);
    this.versions.set(key, this.version(key) + 1);
    this.emit('changed', fn, previous);
  }

  remove(name: string): void {
    const fn = this.functions.get(name);
    if (!fn) return;
    this.functions.delete(name);
    this.emit('removed', fn);
  }

  /** Sum of all reservations, optionally leaving one function out. */
  reservedTotal(except?: string): number {
    let sum = 0;
    for (const fn of this.functions.values()) {
      if (keyOf(fn) !== except) sum += fn.spec.reservedConcurrentExecutions ?? 0;
    }
    return sum;
  }

  /** Changes only the reservation; running environments are unaffected. */
  setReserved(name: string, reserved: number | undefined): void {
    const fn = this.functions.get(name);
    if (!fn) return;
    const spec = { ...fn.spec };
    if (reserved === undefined) delete spec.reservedConcurrentExecutions;
    else spec.reservedConcurrentExecutions = reserved;
    this.functions.set(name, { ...fn, spec });
  }
}
