// The deployment side of Lambda's API, one action per file beside this one:
// CreateFunction, Get/Update/Delete, versions, aliases, tags, event source mappings,
// recursion config. Every route answers
// Lambda's error shapes and counts itself in selfless_lambda_api_requests_total;
// SigV4 is checked before any of them by the Lambda API middleware (gateway/app.ts).
import { Router, type Request, type Response } from 'express';
import { asLambdaError, sendLambdaError, type LambdaError } from '../errors.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ApiContext } from './context.ts';
import { makeCreateAlias } from './create-alias.ts';
import { makeCreateEventSourceMapping } from './create-event-source-mapping.ts';
import { makeCreateFunction } from './create-function.ts';
import { makeDeleteAlias } from './delete-alias.ts';
import { makeDeleteEventSourceMapping } from './delete-event-source-mapping.ts';
import { makeDeleteFunction } from './delete-function.ts';
import { makeDeleteLayerVersion } from './delete-layer-version.ts';
import { apiErrors } from './errors.ts';
import { ESM_PATH } from './event-source-fields.ts';
import { CODE_REQUEST_LIMIT } from './fields.ts';
import { makeGetAlias } from './get-alias.ts';
import { makeGetEventSourceMapping } from './get-event-source-mapping.ts';
import { makeGetFunctionConfiguration } from './get-function-configuration.ts';
import { makeGetFunction } from './get-function.ts';
import { makeGetFunctionRecursionConfig } from './get-function-recursion-config.ts';
import {
  makeGetLayerVersion,
  makeGetLayerVersionByArn,
  makeGetLayerVersionContent,
} from './get-layer-version.ts';
import { LAYERS_PATH } from './layer-fields.ts';
import {
  makeAddLayerVersionPermission,
  makeGetLayerVersionPolicy,
  makeRemoveLayerVersionPermission,
} from './layer-version-policy.ts';
import { makeListLayerVersions } from './list-layer-versions.ts';
import { makeListLayers } from './list-layers.ts';
import { makeListAliases } from './list-aliases.ts';
import { makeListEventSourceMappings } from './list-event-source-mappings.ts';
import { makeListTags } from './list-tags.ts';
import { makeListVersionsByFunction } from './list-versions-by-function.ts';
import { makePublishLayerVersion } from './publish-layer-version.ts';
import { makePublishVersion } from './publish-version.ts';
import { makePutFunctionRecursionConfig } from './put-function-recursion-config.ts';
import {
  makeDeleteProvisionedConcurrencyConfig,
  makeGetProvisionedConcurrencyConfig,
  makeListProvisionedConcurrencyConfigs,
  makePutProvisionedConcurrencyConfig,
  type ProvisionedContext,
} from './provisioned-concurrency.ts';
import { makeTagResource } from './tag-resource.ts';
import { makeUntagResource } from './untag-resource.ts';
import { makeUpdateAlias } from './update-alias.ts';
import { makeUpdateEventSourceMapping } from './update-event-source-mapping.ts';
import { makeUpdateFunctionCode } from './update-function-code.ts';
import { makeUpdateFunctionConfiguration } from './update-function-configuration.ts';

type Handler = (req: Request, res: Response) => void | Promise<void>;

const FUNCTIONS = '/2015-03-31/functions';
const FUNCTION = `${FUNCTIONS}/:name`;
const TAGS = '/2017-03-31/tags/:arn';
const RECURSION_CONFIG = '/2024-08-31/functions/:name/recursion-config';
const PROVISIONED = '/2019-09-30/functions/:name/provisioned-concurrency';

/**
 * The actions that carry a zip take Lambda's 50 MB upload (base64 in JSON); every
 * other Lambda API call keeps the Invoke payload limit.
 */
export function codeUploadLimit(
  req: Request,
): { limit: number; tooLarge: () => LambdaError } | undefined {
  if (req.method === 'POST' && /^\/2015-03-31\/functions\/?$/.test(req.path)) {
    return {
      limit: CODE_REQUEST_LIMIT,
      tooLarge: () => apiErrors.codeTooLarge(CODE_REQUEST_LIMIT, 'CreateFunction'),
    };
  }
  if (req.method === 'POST' && /^\/2018-10-31\/layers\/[^/]+\/versions\/?$/.test(req.path)) {
    return {
      limit: CODE_REQUEST_LIMIT,
      tooLarge: () => apiErrors.codeTooLarge(CODE_REQUEST_LIMIT, 'PublishLayerVersion'),
    };
  }
  if (req.method === 'PUT' && /^\/2015-03-31\/functions\/[^/]+\/code$/.test(req.path)) {
    return {
      limit: CODE_REQUEST_LIMIT,
      tooLarge: () => apiErrors.codeTooLarge(CODE_REQUEST_LIMIT, 'UpdateFunctionCode'),
    };
  }
  return undefined;
}

export function makeDeploymentApi(
  ctx: ApiContext,
  metrics: GatewayMetrics,
  provisioned: ProvisionedContext,
): Router {
  const router = Router();
  const action =
    (name: string, handler: Handler) =>
    async (req: Request, res: Response): Promise<void> => {
      res.on('finish', () =>
        metrics.apiRequests.inc({ action: name, status: String(res.statusCode) }),
      );
      try {
        await handler(req, res);
      } catch (err) {
        sendLambdaError(res, asLambdaError(err));
      }
    };

  router.post([FUNCTIONS, `${FUNCTIONS}/`], action('CreateFunction', makeCreateFunction(ctx)));
  router.get(FUNCTION, action('GetFunction', makeGetFunction(ctx)));
  router.delete(FUNCTION, action('DeleteFunction', makeDeleteFunction(ctx)));
  router.get(
    `${FUNCTION}/configuration`,
    action('GetFunctionConfiguration', makeGetFunctionConfiguration(ctx)),
  );
  router.put(
    `${FUNCTION}/configuration`,
    action('UpdateFunctionConfiguration', makeUpdateFunctionConfiguration(ctx)),
  );
  router.put(`${FUNCTION}/code`, action('UpdateFunctionCode', makeUpdateFunctionCode(ctx)));
  router.post(`${FUNCTION}/versions`, action('PublishVersion', makePublishVersion(ctx)));
  router.get(
    `${FUNCTION}/versions`,
    action('ListVersionsByFunction', makeListVersionsByFunction(ctx)),
  );
  router.post(`${FUNCTION}/aliases`, action('CreateAlias', makeCreateAlias(ctx)));
  router.get(`${FUNCTION}/aliases`, action('ListAliases', makeListAliases(ctx)));
  router.get(`${FUNCTION}/aliases/:alias`, action('GetAlias', makeGetAlias(ctx)));
  router.put(`${FUNCTION}/aliases/:alias`, action('UpdateAlias', makeUpdateAlias(ctx)));
  router.delete(`${FUNCTION}/aliases/:alias`, action('DeleteAlias', makeDeleteAlias(ctx)));
  router.put(
    RECURSION_CONFIG,
    action('PutFunctionRecursionConfig', makePutFunctionRecursionConfig(ctx)),
  );
  router.get(
    RECURSION_CONFIG,
    action('GetFunctionRecursionConfig', makeGetFunctionRecursionConfig(ctx)),
  );
  router.put(
    PROVISIONED,
    action(
      'PutProvisionedConcurrencyConfig',
      makePutProvisionedConcurrencyConfig(ctx, provisioned),
    ),
  );
  // ?List=ALL is ListProvisionedConcurrencyConfigs; without it, the config of ?Qualifier=.
  router.get(PROVISIONED, (req, res) =>
    req.query.List === 'ALL'
      ? action(
          'ListProvisionedConcurrencyConfigs',
          makeListProvisionedConcurrencyConfigs(ctx, provisioned),
        )(req, res)
      : action(
          'GetProvisionedConcurrencyConfig',
          makeGetProvisionedConcurrencyConfig(ctx, provisioned),
        )(req, res),
  );
  router.delete(
    PROVISIONED,
    action('DeleteProvisionedConcurrencyConfig', makeDeleteProvisionedConcurrencyConfig(ctx)),
  );
  router.post(TAGS, action('TagResource', makeTagResource(ctx)));
  router.delete(TAGS, action('UntagResource', makeUntagResource(ctx)));
  router.get(TAGS, action('ListTags', makeListTags(ctx)));
  const layer = `${LAYERS_PATH}/:name/versions`;
  const layerVersion = `${layer}/:version`;
  // ?find=LayerVersion&Arn=... is GetLayerVersionByArn; without it, ListLayers.
  router.get([LAYERS_PATH, `${LAYERS_PATH}/`], (req, res) =>
    req.query.find === 'LayerVersion'
      ? action('GetLayerVersionByArn', makeGetLayerVersionByArn(ctx))(req, res)
      : action('ListLayers', makeListLayers(ctx))(req, res),
  );
  router.post([layer, `${layer}/`], action('PublishLayerVersion', makePublishLayerVersion(ctx)));
  router.get([layer, `${layer}/`], action('ListLayerVersions', makeListLayerVersions(ctx)));
  router.get(layerVersion, action('GetLayerVersion', makeGetLayerVersion(ctx)));
  router.get(
    `${layerVersion}/content`,
    action('GetLayerVersionContent', makeGetLayerVersionContent(ctx)),
  );
  router.delete(layerVersion, action('DeleteLayerVersion', makeDeleteLayerVersion(ctx)));
  router.post(
    `${layerVersion}/policy`,
    action('AddLayerVersionPermission', makeAddLayerVersionPermission(ctx)),
  );
  router.get(
    `${layerVersion}/policy`,
    action('GetLayerVersionPolicy', makeGetLayerVersionPolicy(ctx)),
  );
  router.delete(
    `${layerVersion}/policy/:sid`,
    action('RemoveLayerVersionPermission', makeRemoveLayerVersionPermission(ctx)),
  );
  const esm = `${ESM_PATH}/:uuid`;
  router.post(
    [ESM_PATH, `${ESM_PATH}/`],
    action('CreateEventSourceMapping', makeCreateEventSourceMapping(ctx)),
  );
  router.get(
    [ESM_PATH, `${ESM_PATH}/`],
    action('ListEventSourceMappings', makeListEventSourceMappings(ctx)),
  );
  router.get(esm, action('GetEventSourceMapping', makeGetEventSourceMapping(ctx)));
  router.put(esm, action('UpdateEventSourceMapping', makeUpdateEventSourceMapping(ctx)));
  router.delete(esm, action('DeleteEventSourceMapping', makeDeleteEventSourceMapping(ctx)));
  return router;
}
