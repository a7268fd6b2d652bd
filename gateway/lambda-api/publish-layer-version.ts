// PublishLayerVersion: POST /2018-10-31/layers/{LayerName}/versions. The zip comes in
// the request (Content.ZipFile); S3 content is refused, as for function code.
import type { Request, Response } from 'express';
import { RUNTIMES } from '../../lib/function.ts';
import { readZip } from '../../lib/zip.ts';
import { lambdaErrors } from '../errors.ts';
import { layerScope, type ApiContext } from './context.ts';
import { s3Refused, zipCode } from './fields.ts';
import { layerNameOf, layerVersionOutput } from './layer-fields.ts';
import { jsonBody, knownFields, objectField, stringField, stringList } from './request.ts';

const FIELDS = [
  'Description',
  'Content',
  'CompatibleRuntimes',
  'LicenseInfo',
  'CompatibleArchitectures',
] as const;
const CONTENT_FIELDS = ['S3Bucket', 'S3Key', 'S3ObjectVersion', 'ZipFile'] as const;

function runtimesOf(body: Record<string, unknown>): string[] | undefined {
  const list = stringList(body, 'CompatibleRuntimes');
  if (list === undefined) return undefined;
  if (list.length > 15 || list.some((r) => !(RUNTIMES as readonly string[]).includes(r))) {
    throw lambdaErrors.validation(
      JSON.stringify(list),
      'compatibleRuntimes',
      `Member must have length less than or equal to 15, Member must satisfy enum value set: [${RUNTIMES.join(', ')}]`,
    );
  }
  return list;
}

function architecturesOf(body: Record<string, unknown>): string[] | undefined {
  const list = stringList(body, 'CompatibleArchitectures');
  if (list === undefined) return undefined;
  if (list.length > 2 || list.some((a) => a !== 'x86_64' && a !== 'arm64')) {
    throw lambdaErrors.validation(
      JSON.stringify(list),
      'compatibleArchitectures',
      'Member must have length less than or equal to 2, Member must satisfy enum value set: [x86_64, arm64]',
    );
  }
  return list;
}

export function makePublishLayerVersion(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const name = layerNameOf(String(req.params.name));
    const body = jsonBody(res);
    knownFields(body, FIELDS);
    const content = objectField(body, 'Content', CONTENT_FIELDS);
    if (!content) throw lambdaErrors.validation('null', 'content', 'Member must not be null');
    if (content.S3Bucket !== undefined || content.S3Key !== undefined) s3Refused();
    if (content.ZipFile === undefined)
      throw lambdaErrors.invalidParameter('Please provide a source for layer content.');
    const zip = Buffer.from(zipCode(content.ZipFile, 'content.zipFile').zipFile!, 'base64');
    const unzipped = readZip(zip).reduce((n, e) => n + e.size, 0);
    const description = stringField(body, 'Description', 'description', { max: 256 });
    const licenseInfo = stringField(body, 'LicenseInfo', 'licenseInfo', { max: 512 });
    const runtimes = runtimesOf(body);
    const architectures = architecturesOf(body);
    const v = await scope.layers.publish(name, zip, unzipped, {
      ...(description !== undefined && { description }),
      ...(licenseInfo !== undefined && { licenseInfo }),
      ...(runtimes && { compatibleRuntimes: runtimes }),
      ...(architectures && { compatibleArchitectures: architectures }),
    });
    res.status(201).json(layerVersionOutput(req, scope.account, v));
  };
}
