// What the layer actions share: ARNs, the shapes Lambda answers with, the version a
// path names, and the Layers member of CreateFunction / UpdateFunctionConfiguration
// resolved to stored versions.
import type { Request } from 'express';
import { LAYERS_MAX, type FunctionCode } from '../../lib/function.ts';
import { parseLayerVersionArn } from '../../lib/layer-version.ts';
import { readZip, UNZIPPED_MAX_MB } from '../../lib/zip.ts';
import { lambdaErrors } from '../errors.ts';
import type { Account } from '../invoker.ts';
import type { LayerStore, LayerVersion } from '../layers/store.ts';
import type { FunctionMeta } from './catalog.ts';
import type { LayerScope } from './context.ts';
import type { ConfigChange } from './fields.ts';
import { apiErrors } from './errors.ts';

export const LAYERS_PATH = '/2018-10-31/layers';

const LAYER_NAME = /^[a-zA-Z0-9-_]+$/;
const LAYER_ARN = /^arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:(\d{12}):layer:([a-zA-Z0-9-_]+)$/;

export function layerArn(account: Account, name: string): string {
  return `arn:aws:lambda:${account.region}:${account.accountId}:layer:${name}`;
}

/** A LayerName path parameter: a name or a layer ARN, as Lambda takes it. */
export function layerNameOf(raw: string): string {
  if (raw.length >= 1 && raw.length <= 140 && LAYER_NAME.test(raw)) return raw;
  const arn = LAYER_ARN.exec(raw);
  if (arn && raw.length <= 140) return arn[2]!;
  throw lambdaErrors.validation(
    raw,
    'layerName',
    'Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+',
  );
}

export function versionNotFound(account: Account, name: string, version: number | string) {
  return apiErrors.notFound(`Layer version ${layerArn(account, name)}:${version} does not exist.`);
}

/** The version the path's :name and :version name. */
export function pathVersion(layers: LayerStore, account: Account, req: Request): LayerVersion {
  const name = layerNameOf(String(req.params.name));
  const version = Number(req.params.version);
  const v = Number.isSafeInteger(version) ? layers.get(name, version) : undefined;
  if (!v) throw versionNotFound(account, name, String(req.params.version));
  return v;
}

/** Where the zip can be fetched: Lambda gives a presigned S3 URL; this gateway serves it. */
function location(req: Request, account: Account, v: LayerVersion): string {
  return `${req.protocol}://${req.get('host')}${LAYERS_PATH}/${v.name}/versions/${v.version}/content`;
}

/** A LayerVersionsListItem. */
export function listItem(account: Account, v: LayerVersion): Record<string, unknown> {
  return {
    LayerVersionArn: `${layerArn(account, v.name)}:${v.version}`,
    Version: v.version,
    ...(v.description !== undefined && { Description: v.description }),
    CreatedDate: v.createdDate,
    ...(v.compatibleRuntimes && { CompatibleRuntimes: v.compatibleRuntimes }),
    ...(v.licenseInfo !== undefined && { LicenseInfo: v.licenseInfo }),
    ...(v.compatibleArchitectures && { CompatibleArchitectures: v.compatibleArchitectures }),
  };
}

/** GetLayerVersion's and PublishLayerVersion's answer. */
export function layerVersionOutput(
  req: Request,
  account: Account,
  v: LayerVersion,
): Record<string, unknown> {
  const { LayerVersionArn, ...rest } = listItem(account, v);
  return {
    Content: {
      Location: location(req, account, v),
      CodeSha256: v.codeSha256,
      CodeSize: v.codeSize,
    },
    LayerArn: layerArn(account, v.name),
    LayerVersionArn,
    ...rest,
  };
}

export interface ResolvedLayers {
  arns: string[];
  /** Reported as GetFunction's Layers. */
  reported: { Arn: string; CodeSize: number }[];
  unzippedSize: number;
}

/** A function's Layers member: every ARN a stored version of this account. */
export function resolveLayers(
  layers: LayerStore,
  account: Account,
  arns: string[],
): ResolvedLayers {
  if (arns.length > LAYERS_MAX)
    throw lambdaErrors.invalidParameter(`Cannot reference more than ${LAYERS_MAX} layers.`);
  const reported: ResolvedLayers['reported'] = [];
  let unzippedSize = 0;
  for (const arn of arns) {
    const ref = parseLayerVersionArn(arn);
    if (!ref) {
      throw lambdaErrors.validation(
        JSON.stringify(arns),
        'layers',
        'Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)]',
      );
    }
    const v =
      arn.startsWith(`${layerArn(account, ref.name)}:`) && layers.get(ref.name, ref.version);
    if (!v) throw lambdaErrors.invalidParameter(`Layer version ${arn} does not exist.`);
    reported.push({ Arn: arn, CodeSize: v.codeSize });
    unzippedSize += v.unzippedSize;
  }
  return { arns, reported, unzippedSize };
}

const UNZIPPED_MAX = UNZIPPED_MAX_MB * 1024 * 1024;

/** Lambda's 250 MB limit on a function's code and layers together, unzipped. */
export function checkUnzippedTotal(codeBytes: number, layersBytes: number): void {
  const total = codeBytes + layersBytes;
  if (total > UNZIPPED_MAX) {
    throw lambdaErrors.invalidParameter(
      `Function code combined with layers exceeds the maximum allowed size of ${UNZIPPED_MAX} bytes. The actual size is ${total} bytes.`,
    );
  }
}

function unzippedSize(code: FunctionCode): number {
  if (code.contentRef) return code.contentRef.unzippedSize ?? 0;
  if (code.zipFile === undefined) return 0;
  return readZip(Buffer.from(code.zipFile, 'base64')).reduce((n, e) => n + e.size, 0);
}

/** New code of a function that has layers: code and layers within 250 MB unzipped. */
export function checkCodeWithLayers(
  scope: LayerScope,
  code: FunctionCode,
  layers: string[] | undefined,
): void {
  if (!layers || layers.length === 0) return;
  const sizes = layers.map((arn) => {
    const ref = parseLayerVersionArn(arn);
    // A deleted version still counts: the function keeps running with it.
    return (ref && scope.layers.unzippedSizeOf(ref.name, ref.version)) ?? 0;
  });
  checkUnzippedTotal(
    unzippedSize(code),
    sizes.reduce((a, b) => a + b, 0),
  );
}

/**
 * A CreateFunction / UpdateFunctionConfiguration change whose Layers member names
 * stored versions: their ARNs go in the spec (the driver extracts them) and their
 * sizes beside the configuration GetFunction reports.
 */
export function withLayers(
  scope: LayerScope,
  change: ConfigChange,
  current: FunctionMeta | undefined,
  code: FunctionCode,
): ConfigChange {
  if (change.meta.layers === undefined) return change;
  const resolved = resolveLayers(scope.layers, scope.account, change.meta.layers);
  if (resolved.arns.length > 0) checkUnzippedTotal(unzippedSize(code), resolved.unzippedSize);
  const passthrough = { ...(change.meta.passthrough ?? current?.passthrough) };
  if (resolved.arns.length > 0) passthrough.Layers = resolved.reported;
  else delete passthrough.Layers;
  return {
    spec: { ...change.spec, layers: resolved.arns.length > 0 ? resolved.arns : undefined },
    meta: { ...change.meta, passthrough },
  };
}
