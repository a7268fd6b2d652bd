import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMessages, encodeEvent, encodeMessage } from './event-stream.ts';

test('messages round-trip, split anywhere, with their headers and payloads', () => {
  const a = encodeEvent('PayloadChunk', 'application/octet-stream', Buffer.from('héllo'));
  const b = encodeMessage({
    headers: { ':event-type': 'InvokeComplete' },
    payload: Buffer.from('{}'),
  });
  const all = Buffer.concat([a, b]);
  for (let cut = 0; cut <= all.length; cut++) {
    const first = decodeMessages(all.subarray(0, cut));
    const second = decodeMessages(Buffer.concat([first.rest, all.subarray(cut)]));
    const messages = [...first.messages, ...second.messages];
    assert.equal(messages.length, 2);
    assert.deepEqual(messages[0]!.headers, {
      ':event-type': 'PayloadChunk',
      ':content-type': 'application/octet-stream',
      ':message-type': 'event',
    });
    assert.equal(messages[0]!.payload.toString(), 'héllo');
    assert.equal(messages[1]!.payload.toString(), '{}');
    assert.equal(second.rest.length, 0);
  }
});

test('the prelude carries the total and header lengths; a flipped byte fails the CRC', () => {
  const m = encodeMessage({ headers: { a: 'b' }, payload: Buffer.from('xyz') });
  // 12 prelude + (1 + 1 + 1 + 2 + 1) header + 3 payload + 4 CRC
  assert.equal(m.readUInt32BE(0), 25);
  assert.equal(m.readUInt32BE(4), 6);
  const bad = Buffer.from(m);
  bad.writeUInt8(bad.readUInt8(20) ^ 1, 20);
  assert.throws(() => decodeMessages(bad), /bad message CRC/);
});
