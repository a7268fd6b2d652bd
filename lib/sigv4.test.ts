// SigV4 verification against signatures made by the real AWS SDK's signer, including
// a Lambda-style path that must be double-encoded the way the SDKs do it. The table
// service's use of it is tested in tables/sigv4.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import { verifySigV4 } from './sigv4.ts';

const credentials = { AKIDEXAMPLE: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

describe('verifySigV4', () => {
  type Data = string | ArrayBuffer | ArrayBufferView;
  const bytes = (d: Data) =>
    typeof d === 'string'
      ? Buffer.from(d)
      : ArrayBuffer.isView(d)
        ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
        : Buffer.from(d);
  // The signer's hash: the AWS SDK passes Node's sha256 the same way.
  class Sha256 {
    private h = createHash('sha256');
    private hmac?: ReturnType<typeof createHmac>;
    constructor(secret?: Data) {
      if (secret) this.hmac = createHmac('sha256', bytes(secret));
    }
    update(data: Data) {
      (this.hmac ?? this.h).update(bytes(data));
    }
    async digest() {
      return new Uint8Array((this.hmac ?? this.h).digest());
    }
  }
  const signer = (service: string, secret = credentials.AKIDEXAMPLE) =>
    new SignatureV4({
      service,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret },
      sha256: Sha256,
    });
  const sign = async (service: string, path: string, body: string, when = new Date()) => {
    const signed = await signer(service).sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 4566,
        path,
        query: { Qualifier: 'live:1' },
        headers: { host: '127.0.0.1:4566', 'content-type': 'application/json' },
        body,
      },
      { signingDate: when },
    );
    return {
      method: 'POST',
      url: `${path}?Qualifier=live%3A1`,
      headers: Object.fromEntries(
        Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]),
      ),
      body: Buffer.from(body),
    };
  };
  const lambdaPath = '/2015-03-31/functions/my%3Afn/invocations';

  test('a Lambda path with escaped characters and a query verifies for service lambda', async () => {
    const req = await sign('lambda', lambdaPath, '{"a":1}');
    assert.deepEqual(verifySigV4(req, { credentials, service: 'lambda' }), {
      ok: true,
      accessKeyId: 'AKIDEXAMPLE',
      region: 'eu-west-1',
    });
  });

  test('a tampered body, a foreign service and an old date each fail with their reason', async () => {
    const req = await sign('lambda', lambdaPath, '{"a":1}');
    const tampered = verifySigV4(
      { ...req, body: Buffer.from('{"a":2}') },
      { credentials, service: 'lambda' },
    );
    assert.equal(tampered.ok, false);
    assert.equal(!tampered.ok && tampered.reason, 'bad-signature');
    const scoped = verifySigV4(req, { credentials, service: 'dynamodb' });
    assert.equal(!scoped.ok && scoped.reason, 'wrong-scope');
    const old = await sign('lambda', lambdaPath, '{}', new Date(Date.now() - 20 * 60 * 1000));
    const expired = verifySigV4(old, { credentials, service: 'lambda' });
    assert.equal(!expired.ok && expired.reason, 'expired');
    assert.equal(!expired.ok && expired.type, 'InvalidSignatureException');
  });
});
