// The methods a DAX client needs before data calls: discovery (endpoints), the key
// schema of a table, and the numbering of attribute name lists.
import { isIP } from 'node:net';
import { validation } from '../../errors.ts';
import { CborWriter, type Cbor } from '../cbor.ts';
import { SUCCESS, keySchemaOf, tableName, type DaxContext } from './common.ts';

/** Where the client should connect: this node, as the client reached it. */
export interface NodeAddress {
  host: string;
  address: string;
  port: number;
}

function addressBytes(address: string): Buffer {
  const v4 =
    address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  if (isIP(v4) === 4) return Buffer.from(v4.split('.').map(Number));
  // IPv6: expand '::' to the missing zero groups, 16 bytes in all.
  const [head = '', tail] = v4.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return b;
}

/**
 * One node, the leader (role 1): writes go to a leader, reads anywhere. A replica
 * names only itself, so a client keeps to the node whose attribute list ids it holds.
 */
export function endpoints(node: NodeAddress): Buffer {
  return new CborWriter()
    .raw(SUCCESS)
    .array(1)
    .array(7)
    .int(1)
    .text(node.host)
    .bytes(addressBytes(node.address))
    .int(node.port)
    .int(1)
    .text('')
    .int(1)
    .encoded();
}

export async function defineKeySchema(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const schema = await keySchemaOf(ctx, tableName(args[0]));
  const w = new CborWriter().raw(SUCCESS).map(schema.length);
  for (const k of schema) w.text(k.name).text(k.type);
  return w.encoded();
}

export function defineAttributeListId(ctx: DaxContext, args: Cbor[]): Buffer {
  const names = args[0];
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw validation('DAX request: malformed attribute list');
  }
  return new CborWriter()
    .raw(SUCCESS)
    .int(ctx.lists.idOf(names as string[]))
    .encoded();
}

export function defineAttributeList(ctx: DaxContext, args: Cbor[]): Buffer {
  const id = args[0];
  const names = typeof id === 'number' ? ctx.lists.namesOf(id) : undefined;
  if (!names) throw validation(`DAX request: unknown attribute list id ${String(id)}`);
  const w = new CborWriter().raw(SUCCESS).array(names.length);
  for (const n of names) w.text(n);
  return w.encoded();
}
