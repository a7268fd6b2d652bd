// A Function URL's configuration as Lambda's API reads and reports it: AuthType,
// InvokeMode and Cors, each member checked with Lambda's words; the URL's id, made
// from the function and qualifier so every gateway replica (and every restart)
// gives the same URL to the same function.
import { createHash } from 'node:crypto';
import type { FunctionUrlCors, FunctionUrlSpec } from '../../lib/function.ts';
import { isObject } from '../../lib/parse.ts';
import { lambdaErrors } from '../errors.ts';
import { knownFields, type Body } from '../lambda-api/request.ts';

export const AUTH_TYPES = ['NONE', 'AWS_IAM'] as const;
export const INVOKE_MODES = ['BUFFERED', 'RESPONSE_STREAM'] as const;
export type UrlConfig = FunctionUrlSpec;
export type Cors = FunctionUrlCors;

const CORS_FIELDS = [
  'AllowCredentials',
  'AllowHeaders',
  'AllowMethods',
  'AllowOrigins',
  'ExposeHeaders',
  'MaxAge',
] as const;

/** Lambda's qualifier for a URL: an alias name (a version number is refused). */
export const URL_QUALIFIER = /^(?!\d+$)[0-9a-zA-Z-_]{1,128}$/;

/** 32 lowercase characters, as Lambda's url-ids are. */
export function urlId(accountId: string, key: string, qualifier: string | undefined): string {
  return createHash('sha256')
    .update(`${accountId}\n${key}\n${qualifier ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}

function enumMember<T extends string>(
  body: Body,
  field: string,
  member: string,
  values: readonly T[],
): T | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !values.includes(v as T)) {
    throw lambdaErrors.validation(
      String(v),
      member,
      `Member must satisfy enum value set: [${values.join(', ')}]`,
    );
  }
  return v as T;
}

function stringList(
  cors: Body,
  field: string,
  member: string,
  max: number,
  item: (s: string) => boolean,
  itemRule: string,
): string[] | undefined {
  const v = cors[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw lambdaErrors.invalidJson(`Cors.${field} must be a list of strings`);
  }
  const list = v as string[];
  if (list.length > max) {
    throw lambdaErrors.validation(
      `[${list.join(', ')}]`,
      member,
      `Member must have length less than or equal to ${max}`,
    );
  }
  const bad = list.find((s) => !item(s));
  if (bad !== undefined) {
    throw lambdaErrors.validation(`[${list.join(', ')}]`, member, itemRule);
  }
  return list;
}

export function parseCors(input: unknown): Cors | undefined {
  if (input === undefined || input === null) return undefined;
  if (!isObject(input)) throw lambdaErrors.invalidJson('Cors must be a JSON object');
  knownFields(input, CORS_FIELDS, 'Cors.');
  const cors: Cors = {};
  if (input.AllowCredentials !== undefined && input.AllowCredentials !== null) {
    if (typeof input.AllowCredentials !== 'boolean') {
      throw lambdaErrors.invalidJson('Cors.AllowCredentials must be a boolean');
    }
    cors.allowCredentials = input.AllowCredentials;
  }
  const header = (s: string) => s.length > 0 && s.length <= 1024 && /^[\x21-\x7e]+$/.test(s);
  const headerRule =
    'Member must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: .*]';
  const allowHeaders = stringList(
    input,
    'AllowHeaders',
    'cors.allowHeaders',
    100,
    header,
    headerRule,
  );
  if (allowHeaders) cors.allowHeaders = allowHeaders;
  const methods = stringList(
    input,
    'AllowMethods',
    'cors.allowMethods',
    6,
    (s) => s === '*' || /^[A-Z]{1,6}$/.test(s),
    'Member must satisfy constraint: [Member must have length less than or equal to 6, Member must satisfy regular expression pattern: .*]',
  );
  if (methods) cors.allowMethods = methods;
  const origins = stringList(
    input,
    'AllowOrigins',
    'cors.allowOrigins',
    100,
    (s) => s.length > 0 && s.length <= 253,
    'Member must satisfy constraint: [Member must have length less than or equal to 253, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: .*]',
  );
  if (origins) cors.allowOrigins = origins;
  const expose = stringList(input, 'ExposeHeaders', 'cors.exposeHeaders', 100, header, headerRule);
  if (expose) cors.exposeHeaders = expose;
  if (input.MaxAge !== undefined && input.MaxAge !== null) {
    const age = input.MaxAge;
    if (typeof age !== 'number' || !Number.isInteger(age)) {
      throw lambdaErrors.invalidJson('Cors.MaxAge must be an integer');
    }
    if (age < 0 || age > 86400) {
      throw lambdaErrors.validation(
        String(age),
        'cors.maxAge',
        `Member must have value ${age < 0 ? 'greater than or equal to 0' : 'less than or equal to 86400'}`,
      );
    }
    cors.maxAge = age;
  }
  return cors;
}

/** CreateFunctionUrlConfig's members (AuthType required) or UpdateFunctionUrlConfig's. */
export function parseUrlConfig(body: Body, previous?: UrlConfig): UrlConfig {
  knownFields(body, ['AuthType', 'Cors', 'InvokeMode']);
  const authType = enumMember(body, 'AuthType', 'authType', AUTH_TYPES) ?? previous?.authType;
  if (!authType) {
    throw lambdaErrors.validation('null', 'authType', 'Member must not be null');
  }
  const invokeMode =
    enumMember(body, 'InvokeMode', 'invokeMode', INVOKE_MODES) ??
    previous?.invokeMode ??
    'BUFFERED';
  const cors = body.Cors === undefined ? previous?.cors : parseCors(body.Cors);
  return { authType, invokeMode, ...(cors && { cors }) };
}

/** Cors as the API reports it (PascalCase members, only those set). */
export function corsShape(cors: Cors | undefined): Record<string, unknown> | undefined {
  if (!cors) return undefined;
  const out: Record<string, unknown> = {};
  if (cors.allowCredentials !== undefined) out.AllowCredentials = cors.allowCredentials;
  if (cors.allowHeaders) out.AllowHeaders = cors.allowHeaders;
  if (cors.allowMethods) out.AllowMethods = cors.allowMethods;
  if (cors.allowOrigins) out.AllowOrigins = cors.allowOrigins;
  if (cors.exposeHeaders) out.ExposeHeaders = cors.exposeHeaders;
  if (cors.maxAge !== undefined) out.MaxAge = cors.maxAge;
  return out;
}
