// Lambda's advanced logging controls (LoggingConfig): the log format, the levels the
// platform filters application and system logs at, and the log group. The Function
// resource's `loggingConfig`, checked with Lambda's rules; what the runtime is told
// (AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL) and what the agent filters by.
import { isObject, type Checker } from './parse.ts';

export const LOG_FORMATS = ['JSON', 'Text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Most detail first. */
export const APPLICATION_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type ApplicationLogLevel = (typeof APPLICATION_LOG_LEVELS)[number];

export const SYSTEM_LOG_LEVELS = ['DEBUG', 'INFO', 'WARN'] as const;
export type SystemLogLevel = (typeof SYSTEM_LOG_LEVELS)[number];

/** Lambda's LogGroup: 1-512 characters of these. */
export const LOG_GROUP_PATTERN = /^[.\-_/#A-Za-z0-9]+$/;
export const LOG_GROUP_MAX = 512;

export const LEVELS_NEED_JSON =
  'Log level settings are only supported for functions with the JSON log format. Set LogFormat to JSON.';

export interface LoggingConfig {
  logFormat: LogFormat;
  applicationLogLevel?: ApplicationLogLevel;
  systemLogLevel?: SystemLogLevel;
  logGroup?: string;
}

/** The levels a JSON-format function logs at; Lambda's default for both is INFO. */
export interface LogLevels {
  application: ApplicationLogLevel;
  system: SystemLogLevel;
}

/** Levels apply only in JSON format: undefined for a Text function. */
export function logLevels(config: LoggingConfig | undefined): LogLevels | undefined {
  if (config?.logFormat !== 'JSON') return undefined;
  return {
    application: config.applicationLogLevel ?? 'INFO',
    system: config.systemLogLevel ?? 'INFO',
  };
}

/** AWS_LAMBDA_LOG_GROUP_NAME: the configured group, or Lambda's /aws/lambda/<name>. */
export function logGroupName(name: string, config: LoggingConfig | undefined): string {
  return config?.logGroup ?? `/aws/lambda/${name}`;
}

/**
 * Whether a record at `level` passes a filter at `threshold` (both of one scale,
 * most detail first): WARN keeps WARN, ERROR and FATAL.
 */
export function atLeast<T extends string>(scale: readonly T[], level: T, threshold: T): boolean {
  return scale.indexOf(level) >= scale.indexOf(threshold);
}

export function parseLoggingConfig(input: unknown, c: Checker): LoggingConfig | undefined {
  if (input === undefined || input === null) return undefined;
  const p = 'spec.loggingConfig';
  if (!isObject(input)) {
    c.fail(p, 'must be an object { logFormat, applicationLogLevel, systemLogLevel, logGroup }');
    return undefined;
  }
  const out: LoggingConfig = { logFormat: 'Text' };
  const format = input.logFormat ?? 'Text';
  if (!LOG_FORMATS.includes(format as LogFormat)) {
    c.fail(`${p}.logFormat`, `must be JSON or Text, got ${JSON.stringify(format)}`);
  } else out.logFormat = format as LogFormat;
  for (const [field, scale] of [
    ['applicationLogLevel', APPLICATION_LOG_LEVELS],
    ['systemLogLevel', SYSTEM_LOG_LEVELS],
  ] as const) {
    const v = input[field];
    if (v === undefined || v === null) continue;
    if (!(scale as readonly unknown[]).includes(v)) {
      c.fail(`${p}.${field}`, `must be one of ${scale.join(', ')}, got ${JSON.stringify(v)}`);
    } else if (out.logFormat !== 'JSON') {
      c.fail(`${p}.${field}`, LEVELS_NEED_JSON);
    } else if (field === 'applicationLogLevel') out.applicationLogLevel = v as ApplicationLogLevel;
    else out.systemLogLevel = v as SystemLogLevel;
  }
  const group = input.logGroup;
  if (group !== undefined && group !== null) {
    if (
      typeof group !== 'string' ||
      group.length > LOG_GROUP_MAX ||
      !LOG_GROUP_PATTERN.test(group)
    ) {
      c.fail(
        `${p}.logGroup`,
        `must be 1 to ${LOG_GROUP_MAX} characters of [.-_/#A-Za-z0-9], got ${JSON.stringify(group)}`,
      );
    } else out.logGroup = group;
  }
  return out;
}
