// The layer store of a gateway in a cluster: every layer version is a LayerVersion
// resource in the namespace of the account that published it (lib/layer-version.ts),
// so every replica lists the same ones and the operator can copy a function's layers
// beside it. Reads come from a watch of them; writes go to the API server. Creating
// the resource is the lock on a version number: a 409 means another replica took it,
// and the next one is tried. A zip too big for the resource goes to the content store
// first (lib/kubernetes/content.ts), in the same namespace, where the functions of the
// account project its chunks; the resource names it (spec.content.contentRef).
import { createHash, randomUUID } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION } from '../../crds/schema.ts';
import { canonical } from '../../lib/canonical.ts';
import { INLINE_ZIP_LIMIT } from '../../lib/content-ref.ts';
import { putContent, readContent } from '../../lib/kubernetes/content.ts';
import { Informer, type Obj } from '../../lib/kubernetes/informer.ts';
import {
  LAYER_VERSION_KIND,
  layerObjectName,
  parseLayerVersionSpec,
  type LayerVersionSpec,
} from '../../lib/layer-version.ts';
import type { Logger } from '../../lib/log.ts';
import { lambdaErrors } from '../errors.ts';
import type { LayerFields, LayerStore, LayerVersion } from './store.ts';

const PUBLISH_ATTEMPTS = 5;

function toVersion(s: LayerVersionSpec): LayerVersion {
  return {
    name: s.layerName,
    version: s.version,
    ...(s.description !== undefined && { description: s.description }),
    ...(s.licenseInfo !== undefined && { licenseInfo: s.licenseInfo }),
    ...(s.compatibleRuntimes && { compatibleRuntimes: s.compatibleRuntimes }),
    ...(s.compatibleArchitectures && { compatibleArchitectures: s.compatibleArchitectures }),
    createdDate: s.createdDate,
    codeSha256: s.content.codeSha256,
    codeSize: s.content.codeSize,
    unzippedSize: s.content.unzippedSize,
    policy: s.policy,
    ...(s.deleted && { deleted: true }),
  };
}

export class KubernetesLayerStores {
  private readonly informer: Informer<Obj>;
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly core: k8s.CoreV1Api;
  /**
   * What this replica wrote and its watch may not have brought back yet: a
   * CreateFunction right after PublishLayerVersion must find the version.
   */
  private readonly written = new Map<string, LayerVersionSpec>();
  /** Resolves once every existing LayerVersion is known. */
  readonly ready: Promise<void>;

  constructor(
    kc: k8s.KubeConfig,
    log: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.informer = new Informer<Obj>(kc, { path: `/apis/${GROUP}/${VERSION}/layerversions`, log });
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.informer.start();
    this.ready = this.informer.hasSynced();
  }

  stop(): void {
    this.informer.stop();
  }

  /** The layers of the account `namespace` is. */
  for(namespace: string): LayerStore {
    const key = (name: string, version: number) => `${namespace}/${layerObjectName(name, version)}`;
    const find = (name: string, version: number): LayerVersionSpec | undefined => {
      const k = key(name, version);
      const watched = this.informer.get(k);
      const mine = this.written.get(k);
      if (!watched) return mine;
      const seen = parseLayerVersionSpec(watched);
      // The watch caught up with what was written here: it is the truth again.
      if (mine && canonical(seen) === canonical(mine)) this.written.delete(k);
      return mine ?? seen;
    };
    const all = (): LayerVersionSpec[] => {
      const seen = new Map<string, LayerVersionSpec>();
      for (const o of this.informer.list()) {
        if (o.metadata?.namespace !== namespace) continue;
        const s = parseLayerVersionSpec(o);
        if (s) seen.set(`${namespace}/${o.metadata.name}`, s);
      }
      for (const [k, s] of this.written) if (k.startsWith(`${namespace}/`)) seen.set(k, s);
      return [...seen.values()];
    };
    const ref = (name: string, version: number) => ({
      apiVersion: API_VERSION,
      kind: LAYER_VERSION_KIND,
      metadata: { name: layerObjectName(name, version), namespace },
    });
    const patch = async (name: string, version: number, spec: Partial<LayerVersionSpec>) => {
      const current = find(name, version);
      if (current) this.written.set(key(name, version), { ...current, ...spec });
      await this.objects.patch(
        { ...ref(name, version), spec } as k8s.KubernetesObject,
        undefined,
        undefined,
        'selfless-lambda-api',
        undefined,
        k8s.PatchStrategy.MergePatch,
      );
    };
    const store: LayerStore = {
      publish: async (name, zip, unzippedSize, fields: LayerFields) => {
        const codeSha256 = createHash('sha256').update(zip).digest('base64');
        const base64 = zip.toString('base64');
        const stored =
          base64.length > INLINE_ZIP_LIMIT
            ? { contentRef: await putContent(this.core, namespace, zip, this.now(), unzippedSize) }
            : { zipFile: base64 };
        for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
          const highest = Math.max(
            0,
            ...all()
              .filter((s) => s.layerName === name)
              .map((s) => s.version),
          );
          const spec: LayerVersionSpec = {
            layerName: name,
            version: highest + 1 + attempt,
            ...fields,
            createdDate: this.now().toISOString().replace('Z', '+0000'),
            content: {
              ...stored,
              codeSha256,
              codeSize: zip.length,
              unzippedSize,
            },
            policy: { revisionId: randomUUID(), statements: [] },
          };
          try {
            await this.objects.create({
              ...ref(name, spec.version),
              spec,
            } as k8s.KubernetesObject);
            this.written.set(key(name, spec.version), spec);
            return toVersion(spec);
          } catch (err) {
            if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
          }
        }
        throw lambdaErrors.service(
          `No layer version number was free after ${PUBLISH_ATTEMPTS} tries.`,
        );
      },
      get: (name, version) => {
        const s = find(name, version);
        return s && !s.deleted ? toVersion(s) : undefined;
      },
      versions: (name) =>
        all()
          .filter((s) => s.layerName === name && !s.deleted)
          .sort((a, b) => b.version - a.version)
          .map(toVersion),
      names: () =>
        [
          ...new Set(
            all()
              .filter((s) => !s.deleted)
              .map((s) => s.layerName),
          ),
        ].sort(),
      delete: async (name, version) => {
        if (find(name, version)) await patch(name, version, { deleted: true });
      },
      setPolicy: async (name, version, policy) => {
        await patch(name, version, { policy });
      },
      content: (name, version) => {
        const zipFile = find(name, version)?.content.zipFile;
        return zipFile !== undefined ? Buffer.from(zipFile, 'base64') : undefined;
      },
      download: async (name, version) => {
        const s = find(name, version);
        if (!s?.content.contentRef) return store.content(name, version);
        return readContent(this.core, namespace, s.content.contentRef);
      },
      unzippedSizeOf: (name, version) => find(name, version)?.content.unzippedSize,
    };
    return store;
  }
}
