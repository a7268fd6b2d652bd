// Reconciles one Function as an ordered list of phases, each a `reconcileX` that
// applies one child (get -> create if missing -> refuse if not ours -> update if
// different, in Applier.ensure) and records what it found on the pass: the code
// ConfigMap, the agent's manifest, the worker token Secret, the egress policy that
// keeps workers off external storage, the worker Deployment sized by demand, the
// removal of a ConfigMap the code no longer needs, and the status read back from
// the Deployment. A phase that finds a bad or missing input
// stops the pass with Ready=False and its reason. Children are garbage-collected
// through their owner reference when the Function goes.
import * as k8s from '@kubernetes/client-node';
import { maxConcurrency, parseFunctionManifest } from '../../lib/function.ts';
import type { FUNCTION_VERSION_KIND } from '../../lib/function-version.ts';
import { parseFunctionVersion, sameSnapshot } from '../../lib/function-version.ts';
import { PUBLISH_ATTEMPTS, publishVersion } from '../../lib/kubernetes/publish-version.ts';
import type { Parsed } from '../../lib/parse.ts';
import { provisionedForVersion } from '../../lib/provisioned-concurrency.ts';
import { formatErrors } from '../../lib/parse.ts';
import type { Logger } from '../../lib/log.ts';
import { functionArn } from '../../lib/names.ts';
import { API_VERSION } from '../../crds/schema.ts';
import { Reason, READY, type Condition } from '../conditions.ts';
import type { Applier } from '../apply.ts';
import { describeError } from '../errors.ts';
import { involvedOf, type RecordEvent } from '../events.ts';
import type { Informer, Obj } from '../../lib/kubernetes/informer.ts';
import type { ReconcileResult, Reconciler } from '../controller.ts';
import {
  configMapName,
  deploymentName,
  egressPolicyName,
  FIELD_MANAGER,
  layersConfigMapName,
} from '../labels.ts';
import { accountIdForNamespace } from '../../lib/names.ts';
import {
  layerObjectName,
  parseLayerVersionArn,
  parseLayerVersionSpec,
} from '../../lib/layer-version.ts';
import { makeLayersConfigMap, type LayerContent } from './layers.ts';
import type { ContentRef } from '../../lib/content-ref.ts';
import { missingChunk } from './content-volume.ts';
import { publishReady } from '../status.ts';
import { contentHash, makeAgentConfig, makeConfigMap } from './config-maps.ts';
import { makeDeployment } from './deployment.ts';
import { makeEgressPolicy, type Endpoint } from './egress-policy.ts';
import type { FunctionObject, WorkerConfig } from './function-object.ts';
import { adoptionPatch, isSpecializedFor, retireReason } from './specialized.ts';
import { makeTokenSecret } from './token-secret.ts';
import { desiredReplicas, type DemandWindow } from './scale.ts';

export interface FunctionResource extends Obj {
  spec?: unknown;
  status?: FunctionStatus;
}

export interface FunctionStatus {
  observedGeneration?: number;
  /** A Function's published versions (its FunctionVersions), oldest first. */
  versions?: string[];
  /** A Function's aliases as it declares them. */
  aliases?: {
    name: string;
    functionVersion: string;
    additionalVersionWeights?: Record<string, number>;
  }[];
  conditions?: Condition[];
  replicas?: number;
  readyReplicas?: number;
  desiredReplicas?: number;
  demand?: number;
  functionArn?: string;
  lastError?: string;
}

export interface FunctionReconcilerDeps {
  kc: k8s.KubeConfig;
  /**
   * Function: the objects are Functions (their $LATEST). FunctionVersion: published
   * versions, each run as a Function is, by its own children (labels.ts names them).
   */
  kind?: 'Function' | typeof FUNCTION_VERSION_KIND;
  functions: Informer<FunctionResource>;
  /** The FunctionVersions, for a Function's status and its publish: true. */
  versions?: Informer<FunctionResource>;
  /**
   * For a FunctionVersion: the Functions, whose spec.provisionedConcurrencyConfigs
   * (by version or by alias) are its provisioned floor.
   */
  owners?: Informer<FunctionResource>;
  deployments: Informer<k8s.V1Deployment & Obj>;
  configMaps: Informer<k8s.V1ConfigMap & Obj>;
  networkPolicies: Informer<k8s.V1NetworkPolicy & Obj>;
  /**
   * Pods from a warm pool the gateways report serving `namespace/name` (specialized.ts):
   * the operator reads them by name and has no right to list pods.
   */
  specializedPods: (key: string) => string[];
  /** How many of the function's own workers serve (connected to a gateway). */
  ownWorkers: (key: string) => number;
  applier: Applier;
  /** Addresses the workers must not reach (external CQL and Redis); see egress-policy.ts. */
  protectedEndpoints: () => Promise<Endpoint[]>;
  demand: DemandWindow;
  worker: Omit<WorkerConfig, 'replicas' | 'codeHash' | 'layers'>;
  /** The LayerVersions, whose zips a Function's layers are (layers.ts). */
  layerVersions?: Informer<Obj>;
  /** The content store's chunks, metadata only (lib/content-ref.ts): which ones exist. */
  contentChunks?: Informer<Obj>;
  maxReplicas: number;
  record: RecordEvent;
  log: Logger;
}

class NotReady {
  constructor(
    readonly reason: string,
    readonly message: string,
    readonly requeueAfterMs?: number,
  ) {}
}

type Ready = Omit<Condition, 'lastTransitionTime'>;

/** One reconcile of one Function: what the phases found so far, and its status. */
interface Pass {
  obj: FunctionResource;
  fn: FunctionObject;
  status: FunctionStatus;
  /** Set by reconcileCode: the code's hash, which rolls the pods when it changes. */
  codeHash?: string;
  /** Set by reconcileLayers when the function has layers. */
  layers?: { count: number; hash: string; chunked?: (ContentRef | null)[] };
  /** Set by reconcileDeployment. */
  deployment?: {
    replicas: number;
    existing: (k8s.V1Deployment & Obj) | undefined;
    recent: ReturnType<DemandWindow['recent']>;
  };
  ready?: Ready;
}

type Phase = (pass: Pass) => Promise<void>;

export function makeFunctionReconciler(deps: FunctionReconcilerDeps): Reconciler {
  const custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
  const core = deps.kc.makeApiClient(k8s.CoreV1Api);
  const objects = k8s.KubernetesObjectApi.makeApiClient(deps.kc);
  const kind = deps.kind ?? 'Function';
  const involved = (obj: Obj) => involvedOf(kind, API_VERSION, obj);

  function parse(obj: FunctionResource): Parsed<FunctionObject> {
    const uid = obj.metadata!.uid!;
    if (kind === 'Function') {
      const parsed = parseFunctionManifest(obj);
      return parsed.ok ? { ok: true, value: { def: parsed.value, uid } } : parsed;
    }
    const parsed = parseFunctionVersion(obj);
    return parsed.ok
      ? { ok: true, value: { def: parsed.value.def, uid, versionObject: obj.metadata!.name! } }
      : parsed;
  }

  /**
   * Events kept warm: $LATEST's provisionedConcurrentExecutions, or for a version what
   * its Function's provisioned concurrency configs give it (its own, and its share of
   * an alias that routes to it).
   */
  function provisionedOf(fn: FunctionObject): number {
    if (fn.def.version === undefined) return fn.def.spec.provisionedConcurrentExecutions;
    const owner = deps.owners?.get(`${fn.def.namespace}/${fn.def.name}`);
    const parsed = owner && parseFunctionManifest(owner);
    if (!parsed?.ok) return 0;
    const { spec } = parsed.value;
    const aliases = new Map((spec.aliases ?? []).map((a) => [a.name, a]));
    return provisionedForVersion(
      spec.provisionedConcurrencyConfigs ?? [],
      (name) => aliases.get(name),
      fn.def.version,
    );
  }

  /** The key the gateways report demand under: namespace/name, namespace/name:N for a version. */
  const demandKey = (fn: FunctionObject) =>
    `${fn.def.namespace}/${fn.def.name}` +
    (fn.def.version === undefined ? '' : `:${fn.def.version}`);

  /** Applies one child; a child someone else owns stops the pass. */
  async function ensure(
    desired: k8s.KubernetesObject,
    fn: FunctionObject,
    cached: k8s.KubernetesObject | undefined,
  ): Promise<void> {
    const outcome = await deps.applier.ensure(desired, fn.uid, cached);
    if (typeof outcome === 'object') throw new NotReady(Reason.ResourceConflict, outcome.conflict);
  }

  /**
   * Inline or zip code goes into our ConfigMap; a referenced ConfigMap must exist.
   * Either way the pass learns the code's hash.
   */
  /** The pod would wait for a missing chunk forever: say so instead. */
  function requireContent(fn: FunctionObject, ref: ContentRef, what: string): void {
    const ns = fn.def.namespace;
    const missing = missingChunk(ref, (name) => !!deps.contentChunks?.get(`${ns}/${name}`));
    if (missing) {
      throw new NotReady(
        Reason.ContentNotFound,
        `${what}: content chunk ConfigMap ${missing} (of ${ref.chunks}, zip sha256 ${ref.sha256}) not found`,
        30_000,
      );
    }
  }

  async function reconcileCode(pass: Pass): Promise<void> {
    const { fn } = pass;
    const ref = fn.def.spec.code.configMapRef;
    if (ref) {
      try {
        pass.codeHash = contentHash(
          await core.readNamespacedConfigMap({ namespace: fn.def.namespace, name: ref.name }),
        );
      } catch (err) {
        if (err instanceof k8s.ApiException && err.code === 404) {
          throw new NotReady(Reason.CodeNotFound, `ConfigMap ${ref.name} not found`, 30_000);
        }
        throw err;
      }
      return;
    }
    const stored = fn.def.spec.code.contentRef;
    if (stored) {
      requireContent(fn, stored, 'spec.code.contentRef');
      pass.codeHash = stored.sha256.slice(0, 16);
      return;
    }
    const desired = makeConfigMap(fn);
    pass.codeHash = contentHash(desired);
    if (!desired) return;
    await ensure(desired, fn, deps.configMaps.get(`${fn.def.namespace}/${configMapName(fn.def)}`));
  }

  /**
   * The zips of the LayerVersions the spec lists, in its order, into our ConfigMap. A
   * layer is found in the function's own namespace (its account); a deleted version
   * still serves the functions that use it, as Lambda's do.
   */
  async function reconcileLayers(pass: Pass): Promise<void> {
    const { fn } = pass;
    const arns = fn.def.spec.layers ?? [];
    if (arns.length === 0 || fn.def.spec.code.imageURI) return;
    const account = accountIdForNamespace(fn.def.namespace);
    const layers: LayerContent[] = [];
    for (const arn of arns) {
      const ref = parseLayerVersionArn(arn);
      if (!ref || ref.accountId !== account) {
        throw new NotReady(
          Reason.LayerNotFound,
          `layer version ${arn}: only layers of this namespace's account (${account}) are served`,
          30_000,
        );
      }
      const obj = deps.layerVersions?.get(
        `${fn.def.namespace}/${layerObjectName(ref.name, ref.version)}`,
      );
      const spec = obj && parseLayerVersionSpec(obj);
      if (!spec) {
        throw new NotReady(Reason.LayerNotFound, `layer version ${arn} not found`, 30_000);
      }
      const { contentRef, zipFile } = spec.content;
      if (contentRef) {
        requireContent(fn, contentRef, `layer version ${arn}`);
        layers.push({ contentRef });
      } else layers.push({ zipFile: zipFile ?? '' });
    }
    const desired = makeLayersConfigMap(fn, layers);
    const chunked = layers.map((l) => ('contentRef' in l ? l.contentRef : null));
    pass.layers = {
      count: layers.length,
      hash: desired ? contentHash(desired) : '',
      ...(chunked.some((r) => r) && { chunked }),
    };
    if (chunked.some((r) => r))
      pass.layers.hash += chunked.map((r) => r?.sha256.slice(0, 8) ?? '-').join('');
    if (!desired) return;
    await ensure(
      desired,
      fn,
      deps.configMaps.get(`${fn.def.namespace}/${layersConfigMapName(fn.def)}`),
    );
  }

  async function reconcileAgentConfig({ fn }: Pass): Promise<void> {
    const desired = makeAgentConfig(fn);
    await ensure(desired, fn, deps.configMaps.get(`${fn.def.namespace}/${desired.metadata!.name}`));
  }

  /** Secrets are not watched: the applier reads the server. */
  async function reconcileTokenSecret({ fn }: Pass): Promise<void> {
    if (!deps.worker.workerToken) return;
    await ensure(makeTokenSecret(fn, deps.worker.workerToken), fn, undefined);
  }

  /**
   * Before the Deployment, so no worker starts with a way to the protected storage;
   * ours goes when nothing is protected any more.
   */
  async function reconcileEgressPolicy({ fn }: Pass): Promise<void> {
    const desired = makeEgressPolicy(fn, await deps.protectedEndpoints());
    const cached = deps.networkPolicies.get(`${fn.def.namespace}/${egressPolicyName(fn.def)}`);
    if (desired) await ensure(desired, fn, cached);
    else if (cached?.metadata?.ownerReferences?.some((o) => o.uid === fn.uid))
      await deps.applier.delete(cached);
  }

  /** Replicas from demand, then the Deployment; a change of scale is an Event. */
  async function reconcileDeployment(pass: Pass): Promise<void> {
    const { fn, obj } = pass;
    const cached = deps.deployments.get(`${fn.def.namespace}/${deploymentName(fn.def)}`);
    const recent = deps.demand.recent(demandKey(fn));
    const current = cached?.spec?.replicas ?? 0;
    const replicas = desiredReplicas({
      recentDemand: recent.demand,
      current,
      provisioned: provisionedOf(fn),
      reserved: fn.def.spec.reservedConcurrentExecutions,
      maxReplicas: deps.maxReplicas,
      maxConcurrency: maxConcurrency(fn.def),
    });
    await ensure(
      makeDeployment(fn, {
        ...deps.worker,
        replicas,
        codeHash: pass.codeHash,
        ...(pass.layers && { layers: pass.layers }),
      }),
      fn,
      cached,
    );
    if (replicas !== current && cached) {
      deps.record(
        involved(obj),
        'Normal',
        'Scaled',
        `workers scaled from ${current} to ${replicas}`,
      );
    }
    pass.deployment = { replicas, existing: cached, recent };
  }

  /**
   * Pool pods a gateway specialized for this function are adopted; they go once its
   * own workers are ready, it scales to zero, or it changed (specialized.ts).
   */
  async function reconcileSpecialized(pass: Pass): Promise<void> {
    const { fn, obj } = pass;
    // The warm pool serves $LATEST only (gateway/cluster/warm-pool.ts).
    if (fn.def.version !== undefined) return;
    const configHash = contentHash(makeAgentConfig(fn));
    // A worker pod is Ready when its container runs, well before its runtime is
    // initialised: what counts is an own worker the gateways see asking for work.
    const workers = {
      desired: pass.deployment!.replicas,
      ready: deps.ownWorkers(`${fn.def.namespace}/${fn.def.name}`),
    };
    for (const name of deps.specializedPods(`${fn.def.namespace}/${fn.def.name}`)) {
      const pod = await core
        .readNamespacedPod({ namespace: fn.def.namespace, name })
        .catch((err: unknown) => {
          if (err instanceof k8s.ApiException && err.code === 404) return undefined;
          throw err;
        });
      if (!pod) continue;
      const patch = adoptionPatch(pod, fn, configHash);
      if (patch) {
        await core.patchNamespacedPod(
          { namespace: fn.def.namespace, name, body: patch },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
        deps.record(
          involved(obj),
          'Normal',
          'Specialized',
          `warm pool pod ${name} serves this function`,
        );
        continue;
      }
      const why = isSpecializedFor(pod, fn) && retireReason(pod, configHash, workers);
      if (!why) continue;
      await deps.applier.delete({ apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata! });
      deps.log.info('specialized pool pod retired', {
        function: `${fn.def.namespace}/${fn.def.name}`,
        pod: name,
        why,
      });
    }
  }

  /**
   * A Function's versions and aliases in its status; with publish: true a new version
   * whenever code or configuration differ from the newest one (Lambda's Publish: true).
   * The number is the next of the Function's count, as PublishVersion's
   * (lib/kubernetes/publish-version.ts), so a deleted version's number is never taken
   * again; the version this pass publishes may not be in the cache on the next pass,
   * and the count then says it exists.
   */
  async function reconcileVersions(pass: Pass): Promise<void> {
    const { fn, obj, status } = pass;
    if (fn.def.version !== undefined || !deps.versions) return;
    const published = deps.versions
      .list()
      .filter((v) => v.metadata?.namespace === fn.def.namespace)
      .map((v) => parseFunctionVersion(v))
      .flatMap((p) => (p.ok && p.value.def.name === fn.def.name ? [p.value.def] : []))
      .sort((a, b) => Number(a.version) - Number(b.version));
    const newest = published.at(-1);
    status.versions = published.map((v) => v.version);
    status.aliases = (fn.def.spec.aliases ?? []).map((a) => ({
      name: a.name,
      functionVersion: a.functionVersion,
      ...(a.additionalVersionWeights && { additionalVersionWeights: a.additionalVersionWeights }),
    }));
    if (!fn.def.spec.publish || (newest && sameSnapshot(fn.def.spec, newest.spec))) return;
    const made = await publishVersion(objects, fn.def, '', {
      after: Number(newest?.version ?? 0),
      fieldManager: FIELD_MANAGER,
      keepCounted: true,
    });
    if (!made) {
      throw new NotReady(
        Reason.ReconcileError,
        `no version number was free after ${PUBLISH_ATTEMPTS} tries; trying again`,
        1_000,
      );
    }
    status.versions.push(made.version);
    if (made.created) {
      deps.record(involved(obj), 'Normal', 'Published', `version ${made.version} published`);
    }
  }

  /**
   * Code that moved elsewhere (an image, a referenced ConfigMap) leaves our ConfigMap
   * unused; it goes only after the Deployment, so no pod still mounts it.
   */
  async function removeUnusedConfigMap({ fn, layers }: Pass): Promise<void> {
    const unused = [
      ...(makeConfigMap(fn) ? [] : [configMapName(fn.def)]),
      ...(layers ? [] : [layersConfigMapName(fn.def)]),
    ];
    for (const name of unused) {
      const cached = deps.configMaps.get(`${fn.def.namespace}/${name}`);
      if (cached?.metadata?.ownerReferences?.some((o) => o.uid === fn.uid))
        await deps.applier.delete(cached);
    }
  }

  /** Replicas, demand and Ready from the Deployment as the cache last saw it. */
  async function reconcileStatus(pass: Pass): Promise<void> {
    const { fn, status } = pass;
    const { replicas, existing, recent } = pass.deployment!;
    status.desiredReplicas = replicas;
    if (recent.demand !== undefined) status.demand = recent.demand;
    status.replicas = existing?.status?.replicas ?? 0;
    status.readyReplicas = existing?.status?.readyReplicas ?? 0;
    const available = existing?.status?.availableReplicas ?? 0;
    const floor = Math.ceil(provisionedOf(fn) / maxConcurrency(fn.def));
    status.lastError = '';
    pass.ready =
      available >= floor
        ? {
            type: READY,
            status: 'True',
            reason: replicas === 0 ? Reason.ScaledToZero : Reason.WorkersAvailable,
            message:
              replicas === 0
                ? 'no workers while idle; the first invocation starts one'
                : `${available} of ${replicas} workers available`,
          }
        : {
            type: READY,
            status: 'False',
            reason: Reason.WorkersStarting,
            message: `${available} of ${floor} provisioned workers available`,
          };
  }

  const phases: Phase[] = [
    reconcileCode,
    reconcileLayers,
    reconcileAgentConfig,
    reconcileTokenSecret,
    reconcileEgressPolicy,
    reconcileDeployment,
    reconcileSpecialized,
    removeUnusedConfigMap,
    reconcileVersions,
    reconcileStatus,
  ];

  return {
    kind,
    async reconcile(key: string): Promise<ReconcileResult | void> {
      const obj = deps.functions.get(key);
      if (!obj || obj.metadata?.deletionTimestamp) return;
      const old = obj.status ?? {};
      const status: FunctionStatus = { ...old, observedGeneration: obj.metadata?.generation };

      const parsed = parse(obj);
      if (!parsed.ok) {
        const message = formatErrors(parsed.errors);
        status.lastError = message;
        await publish(obj, old, status, {
          type: READY,
          status: 'False',
          reason: Reason.InvalidSpec,
          message,
        });
        return;
      }
      const fn: FunctionObject = parsed.value;
      status.functionArn =
        functionArn(deps.worker.region, fn.def.namespace, fn.def.name) +
        (fn.def.version === undefined ? '' : `:${fn.def.version}`);
      const pass: Pass = { obj, fn, status };
      let requeueAfterMs: number | undefined;
      try {
        for (const phase of phases) await phase(pass);
        requeueAfterMs = pass.deployment!.recent.expiresInMs;
      } catch (err) {
        if (!(err instanceof NotReady)) {
          // Transient: record it, then let the controller retry with backoff.
          status.lastError = describeError(err);
          await publish(obj, old, status, {
            type: READY,
            status: 'False',
            reason: Reason.ReconcileError,
            message: describeError(err),
          }).catch(() => undefined);
          throw err;
        }
        pass.ready = { type: READY, status: 'False', reason: err.reason, message: err.message };
        status.lastError = err.message;
        requeueAfterMs = err.requeueAfterMs;
      }
      await publish(obj, old, status, pass.ready!);
      return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
    },
  };

  function publish(
    obj: FunctionResource,
    old: FunctionStatus,
    status: FunctionStatus,
    ready: Ready,
  ): Promise<void> {
    return publishReady({
      custom,
      plural: kind === 'Function' ? 'functions' : 'functionversions',
      obj,
      old,
      status,
      ready,
      record: deps.record,
      involved: involved(obj),
    });
  }
}
