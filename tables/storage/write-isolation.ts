// A table's write isolation, as ScyllaDB Alternator names it: which writes go
// through LWT (Paxos) on the cql engine, and whether read-modify-write is served.
//
//   always_use_lwt     every write is a compare-and-set, so blind writes are ordered
//                      by Paxos with conditional ones (all writes linearizable);
//   only_rmw_uses_lwt  the default: conditions, ReturnValues ALL_OLD, UpdateItem and
//                      transactions use LWT; blind PutItem/DeleteItem/BatchWriteItem
//                      are one plain CQL write (ordered by write timestamp);
//   forbid_rmw         no read-modify-write at all: those operations are refused with
//                      a ValidationException, blind writes are plain writes.
//
// A table chooses with its tag `system:write_isolation` (Alternator's tag and
// values, short forms included); tables without it take the service's default
// (`selfless tables --write-isolation`). Alternator's `unsafe_rmw` (read-modify-
// write without LWT) is not offered: it would let two conditional writes both pass.
// Whatever the setting, a table whose writes must know the old item (indexes, a
// stream, transactions: the cql engine's casOnly) writes through LWT, and sqlite
// is atomic in any case: there the setting only decides what forbid_rmw refuses.
import { validation } from '../errors.ts';
import type { TableMeta } from './engine.ts';

export const writeIsolationTag = 'system:write_isolation';

export type WriteIsolation = 'always_use_lwt' | 'only_rmw_uses_lwt' | 'forbid_rmw';

export const defaultWriteIsolation: WriteIsolation = 'only_rmw_uses_lwt';

const spellings: Record<string, WriteIsolation> = {
  a: 'always_use_lwt',
  always: 'always_use_lwt',
  always_use_lwt: 'always_use_lwt',
  o: 'only_rmw_uses_lwt',
  only_rmw_uses_lwt: 'only_rmw_uses_lwt',
  f: 'forbid_rmw',
  forbid: 'forbid_rmw',
  forbid_rmw: 'forbid_rmw',
};

/** A spelling of a write isolation (tag value or flag), undefined when unknown. */
export function parseWriteIsolation(value: string): WriteIsolation | undefined {
  return Object.hasOwn(spellings, value) ? spellings[value] : undefined;
}

/** TagResource and CreateTable refuse a tag value that is not a write isolation. */
export function checkWriteIsolationTag(tags: Record<string, string>): void {
  const value = tags[writeIsolationTag];
  if (value !== undefined && !parseWriteIsolation(value)) {
    throw validation(
      `Incorrect write isolation tag ${value}. Allowed values: ${Object.keys(spellings).join(', ')}`,
    );
  }
}

/** The table's setting, else the service's default. */
export function writeIsolationOf(
  meta: TableMeta,
  fallback: WriteIsolation = defaultWriteIsolation,
): WriteIsolation {
  const tag = meta.tags[writeIsolationTag];
  return (tag !== undefined && parseWriteIsolation(tag)) || fallback;
}

/** Refuses a read-modify-write operation on a table under forbid_rmw. */
export function checkReadModifyWrite(meta: TableMeta, fallback: WriteIsolation | undefined): void {
  if (writeIsolationOf(meta, fallback) === 'forbid_rmw') {
    throw validation(
      "Read-modify-write operations are disabled by 'forbid_rmw' write isolation policy.",
    );
  }
}
