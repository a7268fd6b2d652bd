// The function log's system records as its LoggingConfig asks: Text keeps Lambda's
// START/END/REPORT lines; JSON writes the platform.* records Lambda sends to
// CloudWatch Logs ({"time","type","record"}), each at its system log level, and
// drops the runtime's lines below the application log level.
import {
  APPLICATION_LOG_LEVELS,
  SYSTEM_LOG_LEVELS,
  atLeast,
  logLevels,
  type ApplicationLogLevel,
  type LogLevels,
  type LoggingConfig,
  type SystemLogLevel,
} from '../logging-config.ts';
import { billedMs, endLine, reportLine, startLine, type ReportFields } from './lambda-log.ts';

export interface InvocationReport extends ReportFields {
  /** Bytes of the answer the runtime gave. */
  producedBytes: number;
  status: 'success' | 'error' | 'timeout';
  errorType?: string;
}

export interface InitFailure {
  durationMs: number;
  errorType: string;
}

// Python's logging names two levels its own way; the rest are Lambda's words.
const LEVEL_ALIASES: Record<string, ApplicationLogLevel> = {
  WARNING: 'WARN',
  CRITICAL: 'FATAL',
};

export class PlatformLog {
  private readonly levels: LogLevels | undefined;

  constructor(
    config: LoggingConfig | undefined,
    private readonly now: () => Date = () => new Date(),
    /** The version this environment runs: $LATEST or a published number. */
    private readonly version = '$LATEST',
  ) {
    this.levels = logLevels(config);
  }

  start(requestId: string): string | undefined {
    if (!this.levels) return startLine(requestId, this.version);
    return this.record('INFO', 'platform.start', { requestId, version: this.version });
  }

  /** END, or platform.runtimeDone: a DEBUG record in Lambda's JSON system logs. */
  end(r: InvocationReport): string | undefined {
    if (!this.levels) return endLine(r.requestId);
    return this.record('DEBUG', 'platform.runtimeDone', {
      requestId: r.requestId,
      status: r.status,
      ...(r.errorType !== undefined && { errorType: r.errorType }),
      metrics: { durationMs: r.durationMs, producedBytes: r.producedBytes },
    });
  }

  report(r: InvocationReport): string | undefined {
    if (!this.levels) return reportLine(r);
    return this.record('INFO', 'platform.report', {
      requestId: r.requestId,
      metrics: {
        durationMs: r.durationMs,
        billedDurationMs: r.billedDurationMs,
        memorySizeMB: r.memorySizeMB,
        maxMemoryUsedMB: r.maxMemoryUsedMB,
        ...(r.initDurationMs !== undefined && { initDurationMs: r.initDurationMs }),
        ...(r.restoreDurationMs !== undefined && {
          restoreDurationMs: r.restoreDurationMs,
          billedRestoreDurationMs: billedMs(r.restoreDurationMs),
        }),
      },
      status: r.status,
      ...(r.errorType !== undefined && { errorType: r.errorType }),
    });
  }

  initFailed(f: InitFailure): string | undefined {
    if (!this.levels)
      return `INIT_REPORT Init Duration: ${f.durationMs.toFixed(2)} ms\tPhase: init\tStatus: error\tError Type: ${f.errorType}`;
    return this.record('INFO', 'platform.initReport', {
      initializationType: 'on-demand',
      phase: 'init',
      status: 'error',
      errorType: f.errorType,
      metrics: { durationMs: Math.round(f.durationMs * 1000) / 1000 },
    });
  }

  /**
   * Whether a line of the runtime's output reaches the log. In JSON format Lambda
   * reads a line's level from its JSON `level`, only beside a valid RFC 3339
   * `timestamp` (or `time`); any other line, plain text included, is INFO. Lines
   * below the application log level are dropped.
   */
  keeps(line: string): boolean {
    if (!this.levels) return true;
    return atLeast(APPLICATION_LOG_LEVELS, lineLevel(line), this.levels.application);
  }

  private record(level: SystemLogLevel, type: string, record: object): string | undefined {
    if (!atLeast(SYSTEM_LOG_LEVELS, level, this.levels!.system)) return undefined;
    return JSON.stringify({ time: this.now().toISOString(), type, record });
  }
}

const RFC3339 = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

function lineLevel(line: string): ApplicationLogLevel {
  if (!line.startsWith('{')) return 'INFO';
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return 'INFO';
  }
  const { level, timestamp, time } = (doc ?? {}) as Record<string, unknown>;
  const stamp = timestamp ?? time;
  if (typeof level !== 'string' || typeof stamp !== 'string' || !RFC3339.test(stamp)) return 'INFO';
  const upper = level.toUpperCase();
  const known = LEVEL_ALIASES[upper] ?? upper;
  return (APPLICATION_LOG_LEVELS as readonly string[]).includes(known)
    ? (known as ApplicationLogLevel)
    : 'INFO';
}
