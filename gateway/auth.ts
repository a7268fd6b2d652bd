// SigV4 on the Lambda API when access keys are configured. The signature check is
// shared with the table service (lib/sigv4.ts); this module only speaks Lambda's
// names for its failures.
import type { Request } from 'express';
import { verifySigV4, type SigV4Failure } from '../lib/sigv4.ts';
import { LambdaError } from './errors.ts';

const lambdaNames: Record<SigV4Failure, { status: number; type: string }> = {
  missing: { status: 403, type: 'MissingAuthenticationTokenException' },
  malformed: { status: 400, type: 'IncompleteSignatureException' },
  'unknown-key': { status: 403, type: 'UnrecognizedClientException' },
  'wrong-scope': { status: 403, type: 'InvalidSignatureException' },
  expired: { status: 403, type: 'InvalidSignatureException' },
  'bad-signature': { status: 403, type: 'InvalidSignatureException' },
};

/** `AKID:SECRET,AKID:SECRET` -> map; undefined when unset or empty. */
export function parseAccessKeys(spec: string | undefined): Record<string, string> | undefined {
  if (!spec?.trim()) return undefined;
  const keys: Record<string, string> = {};
  for (const pair of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const i = pair.indexOf(':');
    if (i <= 0 || i === pair.length - 1)
      throw new Error(`expected AKID:SECRET pairs, got "${pair.slice(0, 24)}"`);
    keys[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return keys;
}

export function makeSigV4Authenticator(credentials: Record<string, string>) {
  return (req: Request, body: Buffer): LambdaError | undefined => {
    const result = verifySigV4(
      { method: req.method, url: req.originalUrl, headers: req.headers, body },
      { credentials, service: 'lambda' },
    );
    if (result.ok) return undefined;
    const name = lambdaNames[result.reason];
    const message = result.reason === 'missing' ? 'Missing Authentication Token' : result.message;
    return new LambdaError(name.status, name.type, message);
  };
}
