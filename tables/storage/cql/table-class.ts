// What a DynamoDB table class means on cql: the storage settings of the table's CQL
// tables (items and GSIs). STANDARD keeps the database's defaults for read-heavy
// data. STANDARD_INFREQUENT_ACCESS is DynamoDB's class for data that is mostly
// stored and seldom read, so it trades read cost for space:
// - compaction LeveledCompactionStrategy: at most ~10% of the data is ever
//   duplicated across SSTables (size-tiered compaction may hold twice the data
//   while it merges), paid for with more compaction writes, which seldom-written
//   data can afford;
// - compression with 64 KB chunks (the default 16 KB) and Zstd (a better ratio
//   than LZ4; Deflate where the database has no Zstd): a read decompresses a whole
//   chunk, dearer per read, denser on disk.
// The settings are applied with ALTER TABLE when a table is created with a class and
// when UpdateTable changes it; existing SSTables take them as they are compacted.
import type cassandra from 'cassandra-driver';

export type TableClass = 'STANDARD' | 'STANDARD_INFREQUENT_ACCESS';

const standard = {
  compaction: "{'class': 'SizeTieredCompactionStrategy'}",
  compression: "{'class': 'LZ4Compressor', 'chunk_length_in_kb': 16}",
};

const infrequent = {
  compaction: "{'class': 'LeveledCompactionStrategy', 'sstable_size_in_mb': 160}",
  compression: [
    "{'class': 'ZstdCompressor', 'chunk_length_in_kb': 64, 'compression_level': 9}",
    "{'class': 'DeflateCompressor', 'chunk_length_in_kb': 64}",
  ],
};

export function tableClassOf(description: Record<string, unknown>): TableClass {
  const s = description.TableClassSummary as { TableClass?: TableClass } | undefined;
  return s?.TableClass ?? 'STANDARD';
}

/** The CQL options of a class, the preferred compression first. */
export function classOptions(c: TableClass): { compaction: string; compression: string[] } {
  return c === 'STANDARD'
    ? { compaction: standard.compaction, compression: [standard.compression] }
    : infrequent;
}

/** Applies a class's settings to the CQL tables `ids` of one DynamoDB table. */
export async function applyTableClass(
  client: cassandra.Client,
  ks: string,
  ids: string[],
  c: TableClass,
): Promise<void> {
  const o = classOptions(c);
  for (const id of ids) {
    let done = false;
    for (const compression of o.compression) {
      try {
        await client.execute(
          `ALTER TABLE ${ks}.items_${id} WITH compaction = ${o.compaction} AND compression = ${compression}`,
        );
        done = true;
        break;
      } catch (err) {
        // A database without this compressor refuses it as a configuration error: try the next.
        if ((err as { code?: number }).code !== 0x2300) throw err;
      }
    }
    if (!done) throw new Error(`no compression of table class ${c} is accepted by the database`);
  }
}
