// SigV4 verification against signatures made by the real AWS SDK's signer, including
// a Lambda-style path that must be double-encoded the way the SDKs do it, and our
// signer making the very Authorization header the SDK's makes. The table service's
// use of it is tested in tables/sigv4.test.ts, the gateway's stream poller's in
// test/event-source-sigv4.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import { signSigV4, verifySigV4 } from './sigv4.ts';

const credentials = { AKIDEXAMPLE: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

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

describe('verifySigV4', () => {
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

describe('signSigV4', () => {
  const keys = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: credentials.AKIDEXAMPLE };
  const when = Date.UTC(2026, 0, 2, 3, 4, 5);
  const body = '{"StreamArn":"arn:aws:dynamodb:eu-west-1:000000000000:table/t/stream/x"}';
  const url = new URL('http://127.0.0.1:4566/');
  const headers = {
    'content-type': 'application/x-amz-json-1.0',
    'X-Amz-Target': 'DynamoDBStreams_20120810.DescribeStream',
  };
  const signed = () =>
    signSigV4(
      { method: 'POST', url, headers, body },
      { credentials: keys, region: 'eu-west-1', service: 'dynamodb', now: () => when },
    );

  test("signs with the AWS SDK's own Authorization header", async () => {
    const ours = signed();
    const theirs = await new SignatureV4({
      service: 'dynamodb',
      region: 'eu-west-1',
      credentials: keys,
      sha256: Sha256,
    }).sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 4566,
        path: '/',
        headers: {
          host: '127.0.0.1:4566',
          ...headers,
          'x-amz-content-sha256': ours['x-amz-content-sha256']!,
        },
        body,
      },
      { signingDate: new Date(when) },
    );
    assert.equal(ours.authorization, theirs.headers.authorization);
    assert.equal(ours['x-amz-date'], '20260102T030405Z');
  });

  test('what it signs verifies; another secret does not', () => {
    const req = {
      method: 'POST',
      url: '/',
      headers: { ...signed(), host: url.host },
      body: Buffer.from(body),
    };
    const now = () => when;
    assert.deepEqual(verifySigV4(req, { credentials, service: 'dynamodb', now }), {
      ok: true,
      accessKeyId: 'AKIDEXAMPLE',
      region: 'eu-west-1',
    });
    const other = verifySigV4(req, { credentials: { AKIDEXAMPLE: 'x' }, service: 'dynamodb', now });
    assert.equal(!other.ok && other.reason, 'bad-signature');
  });
});
