// A published layer version in a cluster: a LayerVersion resource in the namespace of
// the account that published it (each namespace is an account, lib/names.ts). The
// gateway's Lambda API writes it; the operator copies the zips a Function lists into a
// ConfigMap beside it, extracted into /opt when its worker pods start. The content is
// immutable (the CRD says so); the permission policy is not. Kubernetes names allow
// neither capitals nor '_', which layer names may have: the name carries a hash of the
// layer's name, and the spec the name itself.
import { createHash } from 'node:crypto';
import type { ContentRef } from './content-ref.ts';
import { isObject } from './parse.ts';

export const LAYER_VERSION_KIND = 'LayerVersion';

export interface LayerVersionSpec {
  layerName: string;
  version: number;
  description?: string;
  licenseInfo?: string;
  compatibleRuntimes?: string[];
  compatibleArchitectures?: string[];
  createdDate: string;
  /** The zip in the resource (zipFile), or in the content store when too big (contentRef). */
  content: {
    zipFile?: string;
    contentRef?: ContentRef;
    codeSha256: string;
    codeSize: number;
    unzippedSize: number;
  };
  policy: {
    revisionId: string;
    statements: { sid: string; action: string; principal: string; organizationId?: string }[];
  };
  /** Deleted versions are neither listed nor found; functions using one still run it. */
  deleted?: boolean;
}

/** `<name, lowercased and cut>-<hash of the name>-<version>`: unique, and readable. */
export function layerObjectName(layerName: string, version: number): string {
  const readable = layerName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(layerName).digest('hex').slice(0, 8);
  return `${readable ? `${readable}-` : ''}${hash}-${version}`;
}

/** A layer version's ARN, as Lambda's Layers member takes it: account, name, version. */
export const LAYER_VERSION_ARN =
  /^arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)$/;

/** The layer name and version an ARN names, with the account it belongs to. */
export function parseLayerVersionArn(
  arn: string,
): { accountId: string; name: string; version: number } | undefined {
  const m = LAYER_VERSION_ARN.exec(arn);
  return m ? { accountId: m[1]!, name: m[2]!, version: Number(m[3]) } : undefined;
}

export function parseLayerVersionSpec(obj: unknown): LayerVersionSpec | undefined {
  if (!isObject(obj) || !isObject(obj.spec)) return undefined;
  const s = obj.spec;
  if (
    typeof s.layerName !== 'string' ||
    typeof s.version !== 'number' ||
    !isObject(s.content) ||
    (typeof s.content.zipFile !== 'string' && !isObject(s.content.contentRef))
  ) {
    return undefined;
  }
  return s as unknown as LayerVersionSpec;
}
