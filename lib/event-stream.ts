// The AWS event-stream binary encoding (application/vnd.amazon.eventstream), as
// InvokeWithResponseStream answers with it: each message is
//
//   total length (u32) | headers length (u32) | prelude CRC32 (u32)
//   headers: name length (u8) | name | type (u8) | value ...
//   payload | message CRC32 (u32)
//
// all big-endian, CRC32 as in zlib. Only string headers (type 7: u16 length, UTF-8
// bytes) are written: that is all Lambda's events carry. The decoder exists for
// the round-trip tests and any tool of ours that reads a stream back.
import { crc32 } from 'node:zlib';

const STRING = 7;
const PRELUDE = 12;

export interface EventStreamMessage {
  headers: Record<string, string>;
  payload: Buffer;
}

export function encodeMessage(message: EventStreamMessage): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(message.headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(STRING, 1 + n.length);
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    parts.push(h);
  }
  const headers = Buffer.concat(parts);
  const total = PRELUDE + headers.length + message.payload.length + 4;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headers.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  headers.copy(out, PRELUDE);
  message.payload.copy(out, PRELUDE + headers.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}

/** An `event` message of the given type, as Lambda's stream events are framed. */
export function encodeEvent(eventType: string, contentType: string, payload: Buffer): Buffer {
  return encodeMessage({
    headers: { ':event-type': eventType, ':content-type': contentType, ':message-type': 'event' },
    payload,
  });
}

/**
 * Splits a buffer into whole messages; `rest` is an incomplete tail to prepend to
 * the next bytes. Throws on a bad checksum or a header type it does not know.
 */
export function decodeMessages(bytes: Buffer): { messages: EventStreamMessage[]; rest: Buffer } {
  const messages: EventStreamMessage[] = [];
  let at = 0;
  while (bytes.length - at >= PRELUDE) {
    const total = bytes.readUInt32BE(at);
    if (bytes.length - at < total) break;
    const msg = bytes.subarray(at, at + total);
    if (crc32(msg.subarray(0, 8)) !== msg.readUInt32BE(8)) throw new Error('bad prelude CRC');
    if (crc32(msg.subarray(0, total - 4)) !== msg.readUInt32BE(total - 4)) {
      throw new Error('bad message CRC');
    }
    const headersEnd = PRELUDE + msg.readUInt32BE(4);
    const headers: Record<string, string> = {};
    let h = PRELUDE;
    while (h < headersEnd) {
      const nameLength = msg.readUInt8(h);
      const name = msg.toString('utf8', h + 1, h + 1 + nameLength);
      const type = msg.readUInt8(h + 1 + nameLength);
      if (type !== STRING) throw new Error(`header type ${type} is not supported`);
      const valueLength = msg.readUInt16BE(h + 2 + nameLength);
      const start = h + 4 + nameLength;
      headers[name] = msg.toString('utf8', start, start + valueLength);
      h = start + valueLength;
    }
    messages.push({ headers, payload: Buffer.from(msg.subarray(headersEnd, total - 4)) });
    at += total;
  }
  return { messages, rest: Buffer.from(bytes.subarray(at)) };
}
