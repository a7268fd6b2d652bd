// AddLayerVersionPermission (POST .../versions/{n}/policy), GetLayerVersionPolicy
// (GET .../policy) and RemoveLayerVersionPermission (DELETE .../policy/{StatementId}):
// the statements are kept and reported as Lambda words them. Nothing checks them:
// this gateway serves one account's layers to its own functions only.
import type { Request, Response } from 'express';
import { LambdaError } from '../errors.ts';
import type { LayerStatement, LayerVersion } from '../layers/store.ts';
import { layerScope, type ApiContext } from './context.ts';
import type { Account } from '../invoker.ts';
import { layerArn, pathVersion } from './layer-fields.ts';
import { jsonBody, knownFields, stringField } from './request.ts';

const FIELDS = ['StatementId', 'Action', 'Principal', 'OrganizationId'] as const;

function checkRevision(req: Request, v: LayerVersion): void {
  const given = req.query.RevisionId;
  if (typeof given === 'string' && given !== v.policy.revisionId) {
    throw new LambdaError(
      412,
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id',
    );
  }
}

function statement(account: Account, v: LayerVersion, s: LayerStatement) {
  return {
    Sid: s.sid,
    Effect: 'Allow',
    Principal: /^\d{12}$/.test(s.principal)
      ? { AWS: `arn:aws:iam::${s.principal}:root` }
      : s.principal === '*'
        ? '*'
        : { AWS: s.principal },
    Action: s.action,
    Resource: `${layerArn(account, v.name)}:${v.version}`,
    ...(s.organizationId !== undefined && {
      Condition: { StringEquals: { 'aws:PrincipalOrgID': s.organizationId } },
    }),
  };
}

export function makeAddLayerVersionPermission(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const v = pathVersion(scope.layers, scope.account, req);
    const body = jsonBody(res);
    knownFields(body, FIELDS);
    const required = (field: string, member: string, pattern: RegExp, text: string) => {
      const value = stringField(body, field, member, { pattern, patternText: text });
      if (value === undefined) throw lambdaErrorsNull(member);
      return value;
    };
    const sid = required(
      'StatementId',
      'statementId',
      /^[a-zA-Z0-9-_]{1,100}$/,
      '([a-zA-Z0-9-_]+)',
    );
    const action = required(
      'Action',
      'action',
      /^lambda:GetLayerVersion$/,
      'lambda:GetLayerVersion',
    );
    const principal = required(
      'Principal',
      'principal',
      /^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)$/,
      '\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root',
    );
    const organizationId = stringField(body, 'OrganizationId', 'organizationId', {
      max: 34,
      pattern: /^o-[a-z0-9]{10,32}$/,
      patternText: 'o-[a-z0-9]{10,32}',
    });
    checkRevision(req, v);
    if (v.policy.statements.some((s) => s.sid === sid)) {
      throw new LambdaError(
        409,
        'ResourceConflictException',
        `The statement id (${sid}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
      );
    }
    const s: LayerStatement = {
      sid,
      action,
      principal,
      ...(organizationId !== undefined && { organizationId }),
    };
    const policy = { revisionId: crypto.randomUUID(), statements: [...v.policy.statements, s] };
    await scope.layers.setPolicy(v.name, v.version, policy);
    res.status(201).json({
      Statement: JSON.stringify(statement(scope.account, v, s)),
      RevisionId: policy.revisionId,
    });
  };
}

function lambdaErrorsNull(member: string): LambdaError {
  return new LambdaError(
    400,
    'ValidationException',
    `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`,
  );
}

export function makeGetLayerVersionPolicy(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const v = pathVersion(scope.layers, scope.account, req);
    if (v.policy.statements.length === 0) {
      throw new LambdaError(
        404,
        'ResourceNotFoundException',
        'No policy is associated with the given resource.',
      );
    }
    res.json({
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Id: 'default',
        Statement: v.policy.statements.map((s) => statement(scope.account, v, s)),
      }),
      RevisionId: v.policy.revisionId,
    });
  };
}

export function makeRemoveLayerVersionPermission(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const v = pathVersion(scope.layers, scope.account, req);
    const sid = String(req.params.sid);
    checkRevision(req, v);
    if (!v.policy.statements.some((s) => s.sid === sid)) {
      throw new LambdaError(
        404,
        'ResourceNotFoundException',
        `Statement ${sid} is not found in resource policy.`,
      );
    }
    await scope.layers.setPolicy(v.name, v.version, {
      revisionId: crypto.randomUUID(),
      statements: v.policy.statements.filter((s) => s.sid !== sid),
    });
    res.status(204).end();
  };
}
