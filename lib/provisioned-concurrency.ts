// Provisioned concurrency per version or alias (Lambda's PutProvisionedConcurrencyConfig),
// kept in the Function's spec.provisionedConcurrencyConfigs so that every gateway
// replica and the operator see one list. It is function-level configuration: a
// published version's snapshot never carries it (lib/function-version.ts).
import { ALIAS_NAME } from './function-alias.ts';
import { isObject, type Checker } from './parse.ts';

export interface ProvisionedConcurrencyConfig {
  /** A published version's number or an alias name; never $LATEST (Lambda refuses it). */
  qualifier: string;
  provisionedConcurrentExecutions: number;
}

/** Lambda lets a function have at most this many qualifiers with provisioned concurrency. */
export const MAX_PROVISIONED_CONFIGS = 100;

/** Where an alias points (its route in the registry, or its spec.aliases entry). */
export interface AliasTarget {
  functionVersion: string;
  additionalVersionWeights?: Record<string, number>;
}

const QUALIFIER = /^[0-9]+$/;

export function parseProvisionedConcurrencyConfigs(
  input: unknown,
  c: Checker,
): ProvisionedConcurrencyConfig[] | undefined {
  const at = 'spec.provisionedConcurrencyConfigs';
  if (input === undefined || input === null) return undefined;
  if (!Array.isArray(input)) {
    c.fail(at, 'must be a list of { qualifier, provisionedConcurrentExecutions }');
    return undefined;
  }
  if (input.length > MAX_PROVISIONED_CONFIGS) {
    c.fail(at, `must have at most ${MAX_PROVISIONED_CONFIGS} items`);
  }
  const seen = new Set<string>();
  const out: ProvisionedConcurrencyConfig[] = [];
  input.forEach((raw: unknown, i) => {
    const item = `${at}[${i}]`;
    if (!isObject(raw))
      return c.fail(item, 'must be { qualifier, provisionedConcurrentExecutions }');
    const { qualifier, provisionedConcurrentExecutions: n } = raw;
    if (
      typeof qualifier !== 'string' ||
      !(QUALIFIER.test(qualifier) || ALIAS_NAME.test(qualifier))
    ) {
      return c.fail(`${item}.qualifier`, 'must be a published version number or an alias name');
    }
    if (seen.has(qualifier)) return c.fail(`${item}.qualifier`, `${qualifier} is declared twice`);
    seen.add(qualifier);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 100_000) {
      return c.fail(`${item}.provisionedConcurrentExecutions`, 'must be an integer from 1');
    }
    out.push({ qualifier, provisionedConcurrentExecutions: n });
  });
  return out;
}

/**
 * The events of provisioned concurrency a published version holds: its own
 * config's, and an alias's share. An alias with weighted routing splits its
 * count between its two versions by weight, each share rounded up (so the
 * shares may add up to one more than asked).
 */
export function provisionedForVersion(
  configs: readonly ProvisionedConcurrencyConfig[],
  route: (alias: string) => AliasTarget | undefined,
  version: string,
): number {
  let total = 0;
  for (const config of configs) {
    const n = config.provisionedConcurrentExecutions;
    if (config.qualifier === version) {
      total += n;
      continue;
    }
    const alias = route(config.qualifier);
    if (!alias) continue;
    const weights = alias.additionalVersionWeights ?? {};
    const others = Object.values(weights).reduce((s, w) => s + w, 0);
    if (alias.functionVersion === version) total += Math.ceil(n * (1 - others));
    else if (weights[version] !== undefined) total += Math.ceil(n * weights[version]);
  }
  return total;
}
