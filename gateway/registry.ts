// The functions the gateway serves, by Lambda function name. Locally they come
// from manifests and the Lambda API; in a cluster from the Function resources.
// Reservations changed through the API (PutFunctionConcurrency) live here too, and
// so do published versions (immutable definitions) and aliases (a version, or a
// weighted pair of versions), which is all Invoke needs to resolve a qualifier.
import { EventEmitter } from 'node:events';
import { keyOf, type FunctionDefinition } from '../lib/function.ts';
import { sameSnapshot } from '../lib/function-version.ts';

export interface RegistryEvents {
  /** A function or version was added, or its definition replaced (`previous` set). */
  changed: [fn: FunctionDefinition, previous: FunctionDefinition | undefined];
  removed: [fn: FunctionDefinition];
}

export const LATEST = '$LATEST';

/** Where an alias points: a version, and optionally a second one with a weight in [0, 1). */
export interface AliasRoute {
  functionVersion: string;
  additionalVersionWeights?: Record<string, number>;
}

/** The route of an alias as any of its records has it (spec.aliases, the catalog's). */
export function routeOf(a: {
  functionVersion: string;
  additionalVersionWeights?: Record<string, number>;
}): AliasRoute {
  return {
    functionVersion: a.functionVersion,
    ...(a.additionalVersionWeights && { additionalVersionWeights: a.additionalVersionWeights }),
  };
}

/**
 * The key environments of one definition are pooled under: the function's key for
 * $LATEST, `key:version` for a published version (a version number has no ':' and
 * a function key has none either, so they cannot collide).
 */
export function workerKeyOf(fn: FunctionDefinition): string {
  return fn.version === undefined ? keyOf(fn) : `${keyOf(fn)}:${fn.version}`;
}

export class FunctionRegistry extends EventEmitter<RegistryEvents> {
  private readonly functions = new Map<string, FunctionDefinition>();
  /** Bumped on every change, so environments know which definition they run. */
  private readonly versions = new Map<string, number>();
  /** key -> version -> its definition. */
  private readonly published = new Map<string, Map<string, FunctionDefinition>>();
  /** key -> alias name -> route. */
  private readonly aliases = new Map<string, Map<string, AliasRoute>>();

  /** Draws the weighted alias routing; tests inject a seeded one. */
  constructor(private readonly random: () => number = Math.random) {
    super();
  }

  /** By key: the name in `default`, namespace/name elsewhere (functionKey); or a workerKeyOf. */
  get(key: string): FunctionDefinition | undefined {
    const fn = this.functions.get(key);
    if (fn) return fn;
    const i = key.lastIndexOf(':');
    return i < 0 ? undefined : this.published.get(key.slice(0, i))?.get(key.slice(i + 1));
  }

  version(name: string): number {
    return this.versions.get(name) ?? 0;
  }

  /** The functions ($LATEST of each). */
  list(): FunctionDefinition[] {
    return [...this.functions.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  }

  /** Every definition environments may run: each function's $LATEST and its versions. */
  served(): FunctionDefinition[] {
    return [
      ...this.list(),
      ...[...this.published.values()].flatMap((versions) => [...versions.values()]),
    ];
  }

  put(fn: FunctionDefinition): void {
    const key = keyOf(fn);
    const previous = this.functions.get(key);
    this.functions.set(key, fn);
    // Function-level settings (concurrency, aliases, provisioned configs, triggers) change
    // nothing an environment runs: only new code or configuration retires environments.
    if (!previous || !sameSnapshot(fn.spec, previous.spec) || fn.baseDir !== previous.baseDir)
      this.versions.set(key, this.version(key) + 1);
    // A manifest's declared aliases are served beside those the API made.
    for (const a of fn.spec.aliases ?? []) this.putAlias(key, a.name, routeOf(a));
    this.emit('changed', fn, previous);
  }

  /** Removes a function with its versions and aliases. */
  remove(name: string): void {
    const fn = this.functions.get(name);
    if (!fn) return;
    for (const v of this.published.get(name)?.values() ?? []) this.emit('removed', v);
    this.published.delete(name);
    this.aliases.delete(name);
    this.functions.delete(name);
    this.emit('removed', fn);
  }

  /** A published version: `fn.version` set; never replaced once there. */
  putVersion(fn: FunctionDefinition): void {
    const key = keyOf(fn);
    const versions = this.published.get(key) ?? new Map<string, FunctionDefinition>();
    if (versions.has(fn.version!)) return;
    versions.set(fn.version!, fn);
    this.published.set(key, versions);
    this.emit('changed', fn, undefined);
  }

  removeVersion(key: string, version: string): void {
    const fn = this.published.get(key)?.get(version);
    if (!fn) return;
    this.published.get(key)!.delete(version);
    this.emit('removed', fn);
  }

  putAlias(key: string, name: string, route: AliasRoute): void {
    const aliases = this.aliases.get(key) ?? new Map<string, AliasRoute>();
    aliases.set(name, route);
    this.aliases.set(key, aliases);
  }

  removeAlias(key: string, name: string): void {
    this.aliases.get(key)?.delete(name);
  }

  /** Where an alias of the function points now. */
  aliasRoute(key: string, name: string): AliasRoute | undefined {
    return this.aliases.get(key)?.get(name);
  }

  /** All of a function's aliases at once: in a cluster, as its resource declares them. */
  setAliases(key: string, routes: Map<string, AliasRoute>): void {
    if (routes.size === 0) this.aliases.delete(key);
    else this.aliases.set(key, routes);
  }

  /** The published versions of a function, in no order. */
  versionsOf(key: string): FunctionDefinition[] {
    return [...(this.published.get(key)?.values() ?? [])];
  }

  /**
   * The definition a qualified call runs: $LATEST (no qualifier or `$LATEST`), a
   * version, or an alias's version, drawn by its weights as Lambda routes them.
   */
  resolve(key: string, qualifier?: string): FunctionDefinition | undefined {
    const latest = this.functions.get(key);
    if (!latest || qualifier === undefined || qualifier === LATEST) return latest;
    const versions = this.published.get(key);
    if (/^\d+$/.test(qualifier)) return versions?.get(qualifier);
    const route = this.aliases.get(key)?.get(qualifier);
    if (!route) return undefined;
    let version = route.functionVersion;
    let draw = this.random();
    for (const [v, weight] of Object.entries(route.additionalVersionWeights ?? {})) {
      if (draw < weight) {
        version = v;
        break;
      }
      draw -= weight;
    }
    return version === LATEST ? latest : versions?.get(version);
  }

  /** Sum of all reservations, optionally leaving one function out. */
  reservedTotal(except?: string): number {
    let sum = 0;
    for (const fn of this.functions.values()) {
      if (keyOf(fn) !== except) sum += fn.spec.reservedConcurrentExecutions ?? 0;
    }
    return sum;
  }

  /**
   * Changes only the reservation, of the function and (it is one limit for all of
   * them) of its versions; running environments are unaffected.
   */
  setReserved(name: string, reserved: number | undefined): void {
    const fn = this.functions.get(name);
    if (!fn) return;
    const withReservation = (def: FunctionDefinition): FunctionDefinition => {
      const spec = { ...def.spec };
      if (reserved === undefined) delete spec.reservedConcurrentExecutions;
      else spec.reservedConcurrentExecutions = reserved;
      return { ...def, spec };
    };
    this.functions.set(name, withReservation(fn));
    const versions = this.published.get(name);
    for (const [v, def] of versions ?? []) versions!.set(v, withReservation(def));
  }
}
