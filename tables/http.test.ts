// Compression on the wire, as DynamoDB does it: request bodies sent with
// Content-Encoding gzip or deflate (signed as sent), and responses compressed when
// the client's Accept-Encoding asks and the body is at least 4 KB, with the
// X-Amz-Crc32 of the compressed bytes. The cases follow ScyllaDB Alternator's
// test_compressed_request.py and test_compressed_response.py, which record what
// DynamoDB answers.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { crc32, deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { sdkClient, startHarness, type Harness } from '../test/support/tables.ts';
import { compressionThreshold, responseCoding } from './http.ts';

const credentials = { AKIDEXAMPLE: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One POST with the bytes and headers given, answered as raw bytes (no decoding). */
function post(url: string, target: string, body: Buffer, headers: Record<string, string> = {}) {
  return new Promise<Raw>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${target}`,
          'content-length': body.length,
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('compressed requests and responses', () => {
  let h: Harness;
  let signed: Harness;
  const getItem = async (pk: string) => {
    const r = await post(
      h.server.url,
      'GetItem',
      json({ TableName: 'zip', Key: { pk: { S: pk } }, ConsistentRead: true }),
    );
    return JSON.parse(r.body.toString()) as { Item?: Record<string, { S: string }> };
  };

  before(async () => {
    h = await startHarness('sqlite');
    signed = await startHarness('sqlite', { auth: { credentials } });
    const table = {
      TableName: 'zip',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
      BillingMode: 'PAY_PER_REQUEST' as const,
    };
    await post(h.server.url, 'CreateTable', json(table));
    const c = sdkClient(signed.server.url, {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: credentials.AKIDEXAMPLE,
    });
    await c.send(new CreateTableCommand(table));
    c.destroy();
  });
  after(async () => {
    await h?.close();
    await signed?.close();
  });

  const putBody = (pk: string, v = 'x') =>
    json({ TableName: 'zip', Item: { pk: { S: pk }, v: { S: v } } });

  test('a gzip-compressed request body is read as its decompressed JSON', async () => {
    const r = await post(h.server.url, 'PutItem', gzipSync(putBody('gz')), {
      'content-encoding': 'gzip',
    });
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual((await getItem('gz')).Item, { pk: { S: 'gz' }, v: { S: 'x' } });
  });

  test('two concatenated gzip members are one body, as the gzip format allows', async () => {
    const body = putBody('two');
    const r = await post(
      h.server.url,
      'PutItem',
      Buffer.concat([gzipSync(body.subarray(0, 10)), gzipSync(body.subarray(10))]),
      { 'content-encoding': 'gzip' },
    );
    assert.equal(r.status, 200, r.body.toString());
    assert.equal((await getItem('two')).Item?.v?.S, 'x');
  });

  test('a deflate-compressed request body is read too', async () => {
    const r = await post(h.server.url, 'PutItem', deflateSync(putBody('defl')), {
      'content-encoding': 'deflate',
    });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal((await getItem('defl')).Item?.v?.S, 'x');
  });

  test('a body that does not decompress, or an unknown coding, is a 500 and writes nothing, as on DynamoDB', async () => {
    const compressed = gzipSync(putBody('bad'));
    const cases: [Buffer, string][] = [
      [putBody('bad'), 'gzip'], // not gzip at all
      [compressed.subarray(0, compressed.length - 1), 'gzip'], // truncated
      [Buffer.concat([compressed, Buffer.from('junk')]), 'gzip'], // trailing junk
      [Buffer.alloc(0), 'gzip'], // empty
      [putBody('bad'), 'garbage'],
    ];
    for (const [body, coding] of cases) {
      const r = await post(h.server.url, 'PutItem', body, { 'content-encoding': coding });
      assert.equal(r.status, 500, `${coding} ${body.length}: ${r.body.toString()}`);
      assert.equal(
        (JSON.parse(r.body.toString()) as { __type: string }).__type,
        'com.amazonaws.dynamodb.v20120810#InternalServerError',
      );
    }
    assert.equal((await getItem('bad')).Item, undefined);
  });

  test('a small compressed body that decompresses past the request limit is refused with 413', async () => {
    const payload = `{"TableName":"zip","Item":{"pk":{"S":"big"}}${' '.repeat(21 * 1024 * 1024)}}`;
    const r = await post(h.server.url, 'PutItem', gzipSync(payload), {
      'content-encoding': 'gzip',
    });
    assert.equal(r.status, 413);
    assert.equal((await getItem('big')).Item, undefined);
  });

  test('the AWS SDK can sign a gzip-compressed body: the signature covers the bytes sent', async () => {
    const c = sdkClient(signed.server.url, {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: credentials.AKIDEXAMPLE,
    });
    // What botocore's request compression does, before the request is signed.
    c.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body: string; headers: Record<string, string> };
        const packed = gzipSync(req.body);
        req.body = packed as unknown as string;
        req.headers['content-encoding'] = 'gzip';
        req.headers['content-length'] = String(packed.length);
        return next(args);
      },
      { step: 'build', priority: 'low' },
    );
    await c.send(
      new PutItemCommand({ TableName: 'zip', Item: { pk: { S: 'sdk' }, v: { S: 'signed' } } }),
    );
    const got = await c.send(new GetItemCommand({ TableName: 'zip', Key: { pk: { S: 'sdk' } } }));
    assert.equal(got.Item?.v?.S, 'signed');
    c.destroy();
  });

  test('a response of 4 KB or more is compressed when asked, its CRC32 over the compressed bytes', async () => {
    const v = 'x'.repeat(compressionThreshold);
    await post(h.server.url, 'PutItem', putBody('large', v));
    const get = json({ TableName: 'zip', Key: { pk: { S: 'large' } } });
    for (const [coding, inflate] of [
      ['gzip', gunzipSync],
      ['deflate', inflateSync],
    ] as const) {
      const r = await post(h.server.url, 'GetItem', get, { 'accept-encoding': coding });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], coding);
      assert.equal(Number(r.headers['content-length']), r.body.length);
      assert.equal(r.headers['x-amz-crc32'], String(crc32(r.body)));
      const item = (JSON.parse(inflate(r.body).toString()) as { Item: { v: { S: string } } }).Item;
      assert.equal(item.v.S, v);
      assert.ok(r.body.length * 30 < v.length, 'compressed');
    }
    const plain = await post(h.server.url, 'GetItem', get);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers['x-amz-crc32'], String(crc32(plain.body)));
  });

  test('a response under 4 KB is sent uncompressed even when gzip is asked for', async () => {
    const r = await post(
      h.server.url,
      'GetItem',
      json({ TableName: 'zip', Key: { pk: { S: 'gz' } } }),
      { 'accept-encoding': 'gzip' },
    );
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(JSON.parse(r.body.toString()).Item.pk.S, 'gz');
  });
});

test('Accept-Encoding picks gzip or deflate as DynamoDB does', () => {
  // [header, the coding DynamoDB answers with], from Alternator's
  // test_compressed_response_accept_encodings, run against DynamoDB.
  const cases: [string, string | undefined][] = [
    ['identity', undefined],
    ['', undefined],
    ['br', undefined],
    ['zstd', undefined],
    ['compress', undefined],
    ['x-gzip', undefined],
    ['gzip, deflate', 'gzip'],
    ['br, identity, deflate, gzip', 'deflate'],
    ['GZIP, identity', 'gzip'],
    ['dog, gzip ,, cat', 'gzip'],
    ['gzip;q=0.8, deflate;q=0.5', 'gzip'],
    ['br, gzip;q=0, deflate; q = 0.5 , identity;q=0', 'deflate'],
    ['*', 'gzip'],
    ['*, deflate;q=0.5', 'gzip'],
    ['*, deflate', 'deflate'],
    ['*, identity', 'gzip'],
    ['*, gzip;q=0.5', 'deflate'],
    ['gzip ;q=0', undefined],
    ['identity;q=0', undefined],
    ['*;q=0', undefined],
    ['*;q=0.5,identity', 'gzip'],
    ['gzip;q=0.5,identity;q=0.8', 'gzip'],
    ['br;q=0.8,identity;q=0.5,*;q=0', undefined],
    ['"gzip"', undefined],
    ['gzip br', undefined],
    ['gzip:q=1', undefined],
    ['deflate;q=0.5, gzip;q=31', 'gzip'],
    ['gzip;q=31,deflate;q=51', 'gzip'],
    ['deflate;q=0.5, gzip;q=0.2', 'deflate'],
    ['deflate;q=0.5, gzip;q=1;q=0.2', 'gzip'],
    ['deflate;q=0.5,gzip;q=0.', 'deflate'],
    ['deflate;q=0.5,gzip;q=0.x', 'gzip'],
    ['deflate;q=-0.5,gzip;q=0.2', 'gzip'],
    ['gzip;nq=1;q=0 ', undefined],
    ['gzip;q=0, gzip;q=1, gzip;q=0', 'gzip'],
    ['br,identity;q=0.5,gzip;q=0.0001', 'gzip'],
  ];
  for (const [header, want] of cases) assert.equal(responseCoding(header), want, header);
});
