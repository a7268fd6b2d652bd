// Lambda's platform log lines and the per-invocation log tail (`X-Amz-Log-Result`).
// Formats follow the Runtime Interface Emulator, field order and tabs included.

export function startLine(requestId: string, version = '$LATEST'): string {
  return `START RequestId: ${requestId} Version: ${version}`;
}

export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}`;
}

export interface ReportFields {
  requestId: string;
  durationMs: number;
  billedDurationMs: number;
  memorySizeMB: number;
  maxMemoryUsedMB: number;
  initDurationMs?: number;
  /** An environment restored from a snapshot (SnapStart): how long the restore took. */
  restoreDurationMs?: number;
}

export function reportLine(r: ReportFields): string {
  const init =
    r.initDurationMs === undefined ? '' : `Init Duration: ${r.initDurationMs.toFixed(2)} ms\t`;
  return (
    `REPORT RequestId: ${r.requestId}\t${init}` +
    `Duration: ${r.durationMs.toFixed(2)} ms\t` +
    `Billed Duration: ${r.billedDurationMs} ms\t` +
    `Memory Size: ${r.memorySizeMB} MB\t` +
    `Max Memory Used: ${r.maxMemoryUsedMB} MB` +
    (r.restoreDurationMs === undefined
      ? ''
      : `\tRestore Duration: ${r.restoreDurationMs.toFixed(2)} ms\t` +
        `Billed Restore Duration: ${billedMs(r.restoreDurationMs)} ms`)
  );
}

/** Lambda bills whole milliseconds, rounded up, at least one. */
export function billedMs(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs));
}

export const LOG_TAIL_BYTES = 4096;

/** Keeps the last 4 KB of one invocation's log, for `X-Amz-Log-Type: Tail`. */
export class LogTail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  push(line: string): void {
    const b = Buffer.from(line + '\n', 'utf8');
    this.chunks.push(b);
    this.bytes += b.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= LOG_TAIL_BYTES) {
      this.bytes -= this.chunks.shift()!.length;
    }
  }

  /** Base64 of the last 4 KB. */
  base64(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - LOG_TAIL_BYTES)).toString('base64');
  }
}

/** `2024-01-02T03:04:05Z`: the emulator's timestamp in timeout messages. */
export function secondsTimestamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function timeoutError(requestId: string, timeoutSeconds: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      errorMessage: `${secondsTimestamp()} ${requestId} Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
    }),
  );
}

export function exitError(
  requestId: string,
  exit: string,
  errorType = 'Runtime.ExitError',
): Buffer {
  return Buffer.from(
    JSON.stringify({
      errorType,
      errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${exit}`,
    }),
  );
}

export function responseTooLargeError(size: number, limit: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${limit} bytes).`,
      errorType: 'Function.ResponseSizeTooLarge',
    }),
  );
}
