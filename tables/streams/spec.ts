// StreamSpecification of CreateTable and UpdateTable: DynamoDB's checks and words,
// the table's streams (a stream disabled and enabled again is a new stream with a
// new label), and the fields DescribeTable shows for them.
import { validation } from '../errors.ts';
import type { StreamMeta, TableMeta } from '../storage/engine.ts';
import type { Field } from '../validate.ts';
import {
  activeStream,
  newStream,
  retentionMs,
  streamArn,
  streamViewTypes,
  type StreamViewType,
} from './model.ts';

export const streamSpecificationField = {
  type: 'Struct',
  fields: {
    StreamEnabled: { type: 'Boolean', notNull: true },
    StreamViewType: { type: 'String', enum: streamViewTypes },
  },
} satisfies Field;

export interface StreamSpecification {
  StreamEnabled: boolean;
  StreamViewType?: StreamViewType;
}

const invalid = (msg: string) => validation(`One or more parameter values were invalid: ${msg}`);

/** CreateTable's streams: one when the specification enables it. */
export function createStreams(
  spec: StreamSpecification | undefined,
  now: number,
): StreamMeta[] | undefined {
  if (!spec) return undefined;
  if (spec.StreamEnabled && !spec.StreamViewType) {
    throw invalid('Table is being created with a stream enabled, UpdateViewType is required');
  }
  if (!spec.StreamEnabled && spec.StreamViewType) {
    throw invalid(
      'Table is being created with a stream disabled, UpdateViewType should not be specified',
    );
  }
  if (!spec.StreamEnabled) return undefined;
  return [newStream(undefined, spec.StreamViewType!, now)];
}

/** UpdateTable's checks of the specification alone, before the table is looked up. */
export function checkStreamUpdate(spec: StreamSpecification): void {
  if (spec.StreamEnabled && !spec.StreamViewType) {
    throw invalid('If stream is being enabled then UpdateViewType is required');
  }
  if (!spec.StreamEnabled && spec.StreamViewType) {
    throw invalid('If stream is being disabled, then UpdateViewType must not be specified');
  }
}

/** The table's streams after UpdateTable's specification. */
export function updateStreams(
  meta: TableMeta,
  spec: StreamSpecification,
  now: number,
): StreamMeta[] {
  const current = activeStream(meta);
  // Disabled streams are kept while their records may still be read.
  const kept = (meta.streams ?? []).filter(
    (s) => s === current || (s.disabledAt ?? now) > now - retentionMs,
  );
  if (spec.StreamEnabled) {
    if (current) throw validation(`Table already has an enabled stream: TableName: ${meta.name}`);
    return [...kept, newStream(meta.streams, spec.StreamViewType!, now)];
  }
  if (!current) throw validation(`Table has no stream to disable: TableName: ${meta.name}`);
  return kept.map((s) => (s === current ? { ...s, disabledAt: now } : s));
}

/** The stream fields of a TableDescription, set on (a copy of) `description`. */
export function describeStreams(
  description: Record<string, unknown>,
  streams: StreamMeta[] | undefined,
  region: string,
  accountId: string,
  table: string,
): Record<string, unknown> {
  const d = { ...description };
  const latest = streams?.[streams.length - 1];
  if (!latest) return d;
  d.StreamSpecification =
    latest.disabledAt === undefined
      ? { StreamEnabled: true, StreamViewType: latest.viewType }
      : { StreamEnabled: false };
  d.LatestStreamLabel = latest.label;
  d.LatestStreamArn = streamArn(region, accountId, table, latest.label);
  return d;
}
