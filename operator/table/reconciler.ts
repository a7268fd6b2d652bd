// Reconciles one Table through the table service's DynamoDB API: a finalizer first
// (so the resource cannot vanish before the table is dealt with), then create or
// adopt the table, then one UpdateTable per pass toward the spec, then status from
// DescribeTable. Deleting the resource deletes the table only when
// deletionProtectionEnabled is false; the annotation selfless.dev/deletion-policy:
// retain releases the resource and keeps the table.
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  CreateTableCommand,
  DeleteTableCommand,
  UpdateTableCommand,
  ResourceNotFoundException,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION } from '../../crds/schema.ts';
import type { Logger } from '../../lib/log.ts';
import { Reason, READY, type Condition } from '../conditions.ts';
import type { ReconcileResult, Reconciler } from '../controller.ts';
import { involvedOf, type RecordEvent } from '../events.ts';
import { keyOf, type Informer, type Obj } from '../../lib/kubernetes/informer.ts';
import { publishReady } from '../status.ts';
import { createTableInput, tableNameOf, type TableSpec } from '../../lib/table.ts';
import { indexInFlight, nextTimeToLive, nextUpdate, sameKey } from './builders.ts';
import type { makeScaler } from './scaler.ts';

export const TABLE_FINALIZER = 'selfless.dev/table';
export const DELETION_POLICY = 'selfless.dev/deletion-policy';

export interface TableResource extends Obj {
  spec?: TableSpec;
  status?: TableStatus;
}

export interface TableStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  tableName?: string;
  tableStatus?: string;
  tableArn?: string;
  latestStreamArn?: string;
  itemCount?: number;
  tableSizeBytes?: number;
  lastError?: string;
}

export interface TableReconcilerDeps {
  kc: k8s.KubeConfig;
  tables: Informer<TableResource>;
  dynamodb: DynamoDBClient;
  record: RecordEvent;
  log: Logger;
  /** How soon to look again while a table is CREATING, UPDATING or DELETING. */
  pollMs?: number;
  /** Target tracking of spec.autoScaling (scaler.ts); absent: not scaled. */
  scale?: ReturnType<typeof makeScaler>;
}

export function makeTableReconciler(deps: TableReconcilerDeps): Reconciler {
  const custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
  const pollMs = deps.pollMs ?? 1_000;
  const ref = (obj: Obj) => ({
    group: GROUP,
    version: VERSION,
    namespace: obj.metadata!.namespace!,
    plural: 'tables',
    name: obj.metadata!.name!,
  });

  async function describe(name: string): Promise<TableDescription | undefined> {
    try {
      return (await deps.dynamodb.send(new DescribeTableCommand({ TableName: name }))).Table;
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  }

  async function setFinalizers(obj: TableResource, finalizers: string[]): Promise<void> {
    await custom.replaceNamespacedCustomObject({
      ...ref(obj),
      body: { ...obj, metadata: { ...obj.metadata, finalizers } },
    });
  }

  /** The oldest resource claiming a table name owns it; the others wait. */
  function claimant(name: string): TableResource | undefined {
    return deps.tables
      .list()
      .filter((t) => !t.metadata?.deletionTimestamp && tableNameOf(t) === name)
      .sort(
        (a, b) =>
          String(a.metadata?.creationTimestamp).localeCompare(
            String(b.metadata?.creationTimestamp),
          ) || keyOf(a).localeCompare(keyOf(b)),
      )[0];
  }

  function publish(
    obj: TableResource,
    status: TableStatus,
    ready: Omit<Condition, 'lastTransitionTime'>,
  ): Promise<void> {
    status.observedGeneration = obj.metadata?.generation;
    return publishReady({
      custom,
      plural: 'tables',
      obj,
      old: obj.status ?? {},
      status,
      ready,
      record: deps.record,
      involved: involved(obj),
    });
  }

  const fromDescription = (d: TableDescription, status: TableStatus) => {
    status.tableStatus = d.TableStatus;
    if (d.TableArn) status.tableArn = d.TableArn;
    if (d.LatestStreamArn) status.latestStreamArn = d.LatestStreamArn;
    status.itemCount = d.ItemCount ?? 0;
    status.tableSizeBytes = d.TableSizeBytes ?? 0;
  };

  async function finalize(obj: TableResource): Promise<ReconcileResult | void> {
    const finalizers = obj.metadata?.finalizers ?? [];
    if (!finalizers.includes(TABLE_FINALIZER)) return;
    const release = () =>
      setFinalizers(
        obj,
        finalizers.filter((f) => f !== TABLE_FINALIZER),
      );
    const name = obj.status?.tableName;
    // Never delete a table this resource did not create or adopt.
    if (!name) return release();
    if (obj.metadata?.annotations?.[DELETION_POLICY] === 'retain') {
      deps.record(
        involved(obj),
        'Normal',
        'Retained',
        `table ${name} kept (deletion policy retain)`,
      );
      return release();
    }
    if (obj.spec?.deletionProtectionEnabled ?? true) {
      await publish(
        obj,
        { ...obj.status },
        {
          type: READY,
          status: 'False',
          reason: Reason.DeletionProtected,
          message: `deletionProtectionEnabled keeps table ${name}: set it to false to delete the table, or annotate ${DELETION_POLICY}=retain to keep it and release this resource`,
        },
      );
      return;
    }
    const desc = await describe(name);
    if (!desc) return release();
    if (desc.DeletionProtectionEnabled) {
      await deps.dynamodb.send(
        new UpdateTableCommand({ TableName: name, DeletionProtectionEnabled: false }),
      );
      return { requeueAfterMs: pollMs };
    }
    if (desc.TableStatus !== 'DELETING') {
      await deps.dynamodb
        .send(new DeleteTableCommand({ TableName: name }))
        .catch((err: unknown) => {
          if (!(err instanceof ResourceNotFoundException)) throw err;
        });
    }
    return { requeueAfterMs: pollMs };
  }

  return {
    kind: 'Table',
    async reconcile(key: string): Promise<ReconcileResult | void> {
      const obj = deps.tables.get(key);
      if (!obj?.spec) return;
      if (obj.metadata?.deletionTimestamp) return finalize(obj);
      if (!obj.metadata?.finalizers?.includes(TABLE_FINALIZER)) {
        // The write brings the object back through the informer for the next pass.
        await setFinalizers(obj, [...(obj.metadata?.finalizers ?? []), TABLE_FINALIZER]);
        return;
      }
      const spec = obj.spec;
      const name = tableNameOf(obj);
      const status: TableStatus = { ...obj.status, lastError: '' };
      const winner = claimant(name);
      if (winner && keyOf(winner) !== key) {
        status.lastError = `table ${name} is managed by Table ${keyOf(winner)}`;
        await publish(obj, status, {
          type: READY,
          status: 'False',
          reason: Reason.TableNameConflict,
          message: status.lastError,
        });
        return;
      }
      try {
        let desc = await describe(name);
        if (!desc) {
          desc = (await deps.dynamodb.send(new CreateTableCommand(createTableInput(spec, name))))
            .TableDescription;
          deps.record(involved(obj), 'Normal', 'Created', `created table ${name}`);
        } else if (status.tableName !== name && !sameKey(desc, spec)) {
          status.lastError = `table ${name} exists with another key schema; it is not adopted`;
          await publish(obj, status, {
            type: READY,
            status: 'False',
            reason: Reason.KeySchemaMismatch,
            message: status.lastError,
          });
          return;
        }
        status.tableName = name;
        let ttlChanged = false;
        if (desc?.TableStatus === 'ACTIVE') {
          const update = nextUpdate(desc, spec, name);
          if (update) {
            desc =
              (await deps.dynamodb.send(new UpdateTableCommand(update))).TableDescription ?? desc;
          } else {
            // Time to live has its own API; it follows once the table itself matches.
            const ttl = (
              await deps.dynamodb.send(new DescribeTimeToLiveCommand({ TableName: name }))
            ).TimeToLiveDescription;
            const ttlUpdate = nextTimeToLive(ttl, spec, name);
            if (ttlUpdate) {
              await deps.dynamodb.send(new UpdateTimeToLiveCommand(ttlUpdate));
              ttlChanged = true;
            }
          }
        }
        if (desc) fromDescription(desc, status);
        // An index being backfilled or dropped holds the next change back: the
        // table is Ready once every index of the spec is ACTIVE.
        const inFlight = desc && indexInFlight(desc);
        const active =
          desc?.TableStatus === 'ACTIVE' &&
          !inFlight &&
          !nextUpdate(desc, spec, name) &&
          !ttlChanged;
        await publish(obj, status, {
          type: READY,
          status: active ? 'True' : 'False',
          reason: active ? Reason.TableActive : Reason.TableNotActive,
          message: active
            ? `table ${name} is ACTIVE`
            : `table ${name} is ${desc?.TableStatus ?? 'unknown'}${inFlight ? `; index ${inFlight}` : ''}`,
        });
        if (active && spec.autoScaling && deps.scale) {
          await deps.scale(name, desc!, spec, (type, reason, message) =>
            deps.record(involved(obj), type, reason, message),
          );
          // Target tracking decides on one-minute datapoints.
          return { requeueAfterMs: 60_000 };
        }
        return active ? undefined : { requeueAfterMs: pollMs };
      } catch (err) {
        const e = err as {
          name?: string;
          message?: string;
          $metadata?: { httpStatusCode?: number };
        };
        status.lastError = `${e.name ?? 'Error'}: ${e.message ?? String(err)}`;
        // A 4xx from the table service is a spec it refuses: wait for an edit. DynamoDB's
        // one TTL change an hour (a new attribute is a disable then an enable) passes.
        const refused =
          (e.$metadata?.httpStatusCode ?? 500) < 500 &&
          e.name !== 'ThrottlingException' &&
          e.message !== 'Time to live has been modified multiple times within a fixed interval';
        await publish(obj, status, {
          type: READY,
          status: 'False',
          reason: refused ? Reason.InvalidSpec : Reason.ReconcileError,
          message: status.lastError,
        }).catch(() => undefined);
        if (!refused) throw err;
      }
    },
  };
}

const involved = (obj: Obj) => involvedOf('Table', API_VERSION, obj);
