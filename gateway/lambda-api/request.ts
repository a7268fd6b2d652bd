// Reading a Lambda API request: the JSON body, the fields each action knows (a
// stray one is refused, naming the nearest known name), and the member checks whose
// failures Lambda words as "1 validation error detected: ...".
import type { Request, Response } from 'express';
import { isObject, unknownFieldMessage } from '../../lib/parse.ts';
import { lambdaErrors } from '../errors.ts';
import { requestBody } from '../invoke.ts';
import { apiErrors } from './errors.ts';

export type Body = Record<string, unknown>;

export function jsonBody(res: Response): Body {
  const text = requestBody(res).toString('utf8');
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw lambdaErrors.invalidJson((err as Error).message);
  }
  if (!isObject(v)) throw lambdaErrors.invalidJson('the request body must be a JSON object');
  return v;
}

/**
 * Refuses a field the action does not take. The AWS SDKs and CLI send only members
 * of the action's shape, so a stray field is a hand-written request's typo: taking it
 * silently would run the function without the setting its author meant.
 */
export function knownFields(body: Body, known: readonly string[], path = ''): void {
  for (const field of Object.keys(body)) {
    if (!known.includes(field)) {
      throw apiErrors.unknownField(
        `Could not parse request body into json: ${unknownFieldMessage(
          path + field,
          known.map((k) => path + k),
        )}`,
      );
    }
  }
}

/** An object member (or undefined), its own fields checked. */
export function objectField(
  body: Body,
  field: string,
  known: readonly string[],
  path = '',
): Body | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw lambdaErrors.invalidJson(`${path}${field} must be a JSON object`);
  knownFields(v, known, `${path}${field}.`);
  return v;
}

export function stringField(
  body: Body,
  field: string,
  member: string,
  rules: { min?: number; max?: number; pattern?: RegExp; patternText?: string } = {},
): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw lambdaErrors.invalidJson(`${field} must be a string`);
  if (rules.min !== undefined && v.length < rules.min) {
    throw lambdaErrors.validation(
      v,
      member,
      `Member must have length greater than or equal to ${rules.min}`,
    );
  }
  if (rules.max !== undefined && v.length > rules.max) {
    throw lambdaErrors.validation(
      v,
      member,
      `Member must have length less than or equal to ${rules.max}`,
    );
  }
  if (rules.pattern && !rules.pattern.test(v)) {
    throw lambdaErrors.validation(
      v,
      member,
      `Member must satisfy regular expression pattern: ${rules.patternText ?? rules.pattern.source}`,
    );
  }
  return v;
}

export function intField(
  body: Body,
  field: string,
  member: string,
  range: { min: number; max: number },
): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw lambdaErrors.invalidJson(`${field} must be an integer`);
  if (v < range.min) {
    throw lambdaErrors.validation(
      String(v),
      member,
      `Member must have value greater than or equal to ${range.min}`,
    );
  }
  if (v > range.max) {
    throw lambdaErrors.validation(
      String(v),
      member,
      `Member must have value less than or equal to ${range.max}`,
    );
  }
  return v;
}

export function boolField(body: Body, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw lambdaErrors.invalidJson(`${field} must be a boolean`);
  return v;
}

export function stringMap(body: Body, field: string): Record<string, string> | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string'))
    throw lambdaErrors.invalidJson(`${field} must map names to strings`);
  return v as Record<string, string>;
}

export function stringList(body: Body, field: string): string[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw lambdaErrors.invalidJson(`${field} must be a list of strings`);
  return v as string[];
}

/** The Qualifier query parameter, checked as Lambda checks it. */
export function qualifierOf(req: Request): string | undefined {
  const q = req.query.Qualifier;
  if (q === undefined) return undefined;
  const v = String(q);
  if (!/^(|[a-zA-Z0-9$_-]+)$/.test(v) || v.length > 128) {
    throw lambdaErrors.validation(
      v,
      'qualifier',
      'Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)',
    );
  }
  return v;
}

/** RevisionId preconditions: a given id that is not the current one is refused. */
export function checkRevision(given: string | undefined, current: string): void {
  if (given !== undefined && given !== current) throw apiErrors.revisionMismatch();
}
