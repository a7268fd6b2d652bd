// Marker / MaxItems paging as Lambda's List* actions take it.
import type { Request } from 'express';
import { lambdaErrors } from '../errors.ts';

export function page<T>(req: Request, all: T[], defaultMax = 50): { items: T[]; next?: string } {
  const max = req.query.MaxItems === undefined ? defaultMax : Number(req.query.MaxItems);
  if (!Number.isInteger(max) || max < 1 || max > 10000) {
    throw lambdaErrors.validation(
      String(req.query.MaxItems),
      'maxItems',
      'Member must have value between 1 and 10000',
    );
  }
  const start = typeof req.query.Marker === 'string' ? Number(req.query.Marker) : 0;
  if (!Number.isInteger(start) || start < 0) throw lambdaErrors.invalidParameter('Invalid marker');
  return {
    items: all.slice(start, start + max),
    ...(start + max < all.length && { next: String(start + max) }),
  };
}
