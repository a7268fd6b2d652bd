// A function's aliases as its resource declares them (`spec.aliases`): a name that
// points at a published version (or $LATEST), optionally with a second version that
// takes a weight of the calls, as Lambda's RoutingConfig.AdditionalVersionWeights.
// In a cluster this list is where CreateAlias / UpdateAlias / DeleteAlias keep them,
// so every gateway replica routes an alias alike (gateway/lambda-api/kubernetes-writer.ts).
import { parseFunctionUrl, type FunctionUrlSpec } from './function.ts';
import { isObject, type Checker } from './parse.ts';

export const LATEST = '$LATEST';
export const MAX_ALIASES = 100;

export interface FunctionAlias {
  name: string;
  functionVersion: string;
  description?: string;
  /** At most one other published version and the share of calls it takes, in [0, 1]. */
  additionalVersionWeights?: Record<string, number>;
  /** The alias's Function URL, where a cluster keeps it (CreateFunctionUrlConfig with Qualifier). */
  functionUrl?: FunctionUrlSpec;
}

/** Lambda's alias names: 1-128 of [a-zA-Z0-9-_], not all digits (that is a version). */
export const ALIAS_NAME = /^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/;
const VERSION = /^(\$LATEST|[0-9]+)$/;

export function parseAliases(input: unknown, c: Checker): FunctionAlias[] | undefined {
  if (input === undefined || input === null) return undefined;
  if (!Array.isArray(input)) {
    c.fail('spec.aliases', 'must be a list of { name, functionVersion }');
    return undefined;
  }
  if (input.length > MAX_ALIASES) c.fail('spec.aliases', `must have at most ${MAX_ALIASES} items`);
  const seen = new Set<string>();
  const out: FunctionAlias[] = [];
  input.forEach((raw: unknown, i) => {
    const at = `spec.aliases[${i}]`;
    if (!isObject(raw)) return c.fail(at, 'must be an object { name, functionVersion }');
    const { name, functionVersion, description, routingConfig, functionUrl } = raw;
    if (typeof name !== 'string' || !ALIAS_NAME.test(name)) {
      return c.fail(`${at}.name`, 'must be 1-128 characters of [a-zA-Z0-9-_] and not only digits');
    }
    if (seen.has(name)) return c.fail(`${at}.name`, `${name} is declared twice`);
    seen.add(name);
    if (typeof functionVersion !== 'string' || !VERSION.test(functionVersion)) {
      return c.fail(`${at}.functionVersion`, 'must be $LATEST or a version number');
    }
    const alias: FunctionAlias = { name, functionVersion };
    if (description !== undefined) {
      if (typeof description !== 'string' || description.length > 256) {
        return c.fail(`${at}.description`, 'must be a string of at most 256 characters');
      }
      alias.description = description;
    }
    const url = parseFunctionUrl(functionUrl, c, `${at}.functionUrl`);
    if (url) alias.functionUrl = url;
    if (routingConfig !== undefined && routingConfig !== null) {
      const weights = isObject(routingConfig) ? routingConfig.additionalVersionWeights : undefined;
      if (!isObject(weights)) {
        return c.fail(
          `${at}.routingConfig.additionalVersionWeights`,
          'must map one version to a weight',
        );
      }
      const entries = Object.entries(weights);
      if (entries.length > 1) {
        return c.fail(
          `${at}.routingConfig.additionalVersionWeights`,
          'may name at most one version',
        );
      }
      for (const [v, w] of entries) {
        if (!/^[0-9]+$/.test(v) || v === functionVersion) {
          return c.fail(
            `${at}.routingConfig.additionalVersionWeights`,
            `${v} must be a published version other than functionVersion`,
          );
        }
        if (typeof w !== 'number' || w < 0 || w > 1) {
          return c.fail(`${at}.routingConfig.additionalVersionWeights.${v}`, 'must be in [0, 1]');
        }
      }
      if (entries.length === 1 && functionVersion === LATEST) {
        return c.fail(
          `${at}.routingConfig`,
          '$LATEST is not supported for an alias pointing to more than 1 version',
        );
      }
      if (entries.length === 1) alias.additionalVersionWeights = weights as Record<string, number>;
    }
    out.push(alias);
  });
  return out;
}

/** The alias as the resource carries it (camelCase, RoutingConfig nested as in Lambda). */
export function aliasResource(a: FunctionAlias): Record<string, unknown> {
  return {
    name: a.name,
    functionVersion: a.functionVersion,
    ...(a.description !== undefined && { description: a.description }),
    ...(a.additionalVersionWeights && {
      routingConfig: { additionalVersionWeights: a.additionalVersionWeights },
    }),
    ...(a.functionUrl && { functionUrl: a.functionUrl }),
  };
}
