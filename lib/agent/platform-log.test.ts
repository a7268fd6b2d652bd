import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlatformLog, type InvocationReport } from './platform-log.ts';

const at = new Date('2026-12-03T10:00:00.123Z');
const clock = () => at;
const report: InvocationReport = {
  requestId: 'r-1',
  durationMs: 12.34,
  billedDurationMs: 13,
  memorySizeMB: 128,
  maxMemoryUsedMB: 64,
  initDurationMs: 150.5,
  producedBytes: 7,
  status: 'success',
};

describe('PlatformLog', () => {
  it('writes START/END/REPORT lines in Text format, with or without a LoggingConfig', () => {
    for (const log of [new PlatformLog(undefined), new PlatformLog({ logFormat: 'Text' })]) {
      assert.equal(log.start('r-1'), 'START RequestId: r-1 Version: $LATEST');
      assert.equal(log.end(report), 'END RequestId: r-1');
      assert.match(log.report(report)!, /^REPORT RequestId: r-1\tInit Duration: 150\.50 ms\t/);
      assert.equal(
        log.initFailed({ durationMs: 3.456, errorType: 'Runtime.ExitError' }),
        'INIT_REPORT Init Duration: 3.46 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError',
      );
    }
  });

  it('writes platform.start and platform.report records in JSON format at the default INFO level, not runtimeDone', () => {
    const log = new PlatformLog({ logFormat: 'JSON' }, clock);
    assert.equal(
      log.start('r-1'),
      '{"time":"2026-12-03T10:00:00.123Z","type":"platform.start","record":{"requestId":"r-1","version":"$LATEST"}}',
    );
    assert.equal(log.end(report), undefined, 'platform.runtimeDone is a DEBUG record');
    assert.deepEqual(JSON.parse(log.report(report)!), {
      time: '2026-12-03T10:00:00.123Z',
      type: 'platform.report',
      record: {
        requestId: 'r-1',
        metrics: {
          durationMs: 12.34,
          billedDurationMs: 13,
          memorySizeMB: 128,
          maxMemoryUsedMB: 64,
          initDurationMs: 150.5,
        },
        status: 'success',
      },
    });
  });

  it('adds platform.runtimeDone at system level DEBUG and drops INFO records at WARN', () => {
    const debug = new PlatformLog({ logFormat: 'JSON', systemLogLevel: 'DEBUG' }, clock);
    const failed = { ...report, status: 'error' as const, errorType: 'TypeError' };
    assert.deepEqual(JSON.parse(debug.end(failed)!), {
      time: '2026-12-03T10:00:00.123Z',
      type: 'platform.runtimeDone',
      record: {
        requestId: 'r-1',
        status: 'error',
        errorType: 'TypeError',
        metrics: { durationMs: 12.34, producedBytes: 7 },
      },
    });
    const warn = new PlatformLog({ logFormat: 'JSON', systemLogLevel: 'WARN' }, clock);
    assert.equal(warn.start('r-1'), undefined);
    assert.equal(warn.end(report), undefined);
    assert.equal(warn.report(report), undefined);
    assert.equal(warn.initFailed({ durationMs: 1, errorType: 'Runtime.ExitError' }), undefined);
  });

  it('writes a failed init as platform.initReport in JSON format', () => {
    const log = new PlatformLog({ logFormat: 'JSON' }, clock);
    assert.deepEqual(
      JSON.parse(log.initFailed({ durationMs: 3.4567, errorType: 'Runtime.ExitError' })!),
      {
        time: '2026-12-03T10:00:00.123Z',
        type: 'platform.initReport',
        record: {
          initializationType: 'on-demand',
          phase: 'init',
          status: 'error',
          errorType: 'Runtime.ExitError',
          metrics: { durationMs: 3.457 },
        },
      },
    );
  });

  it("reads a runtime line's level as Lambda does: a JSON level beside an RFC 3339 timestamp, else INFO", () => {
    const log = new PlatformLog({ logFormat: 'JSON', applicationLogLevel: 'WARN' });
    const at = '"timestamp":"2026-12-03T10:00:00.123Z"';
    assert.equal(log.keeps(`{${at},"level":"INFO","message":"x"}`), false);
    assert.equal(log.keeps(`{${at},"level":"debug","message":"x"}`), false);
    assert.equal(log.keeps(`{${at},"level":"WARN","message":"x"}`), true);
    assert.equal(log.keeps(`{${at},"level":"WARNING","message":"python"}`), true);
    assert.equal(log.keeps(`{${at},"level":"CRITICAL","message":"python"}`), true);
    assert.equal(log.keeps('{"time":"2026-12-03T10:00:00+01:00","level":"ERROR"}'), true);
    assert.equal(log.keeps('{"timestamp":"2026-12-03T10:00:00Z","level":"FATAL"}'), true);
    for (const info of [
      '{"level":"ERROR","message":"no timestamp"}',
      '{"timestamp":"yesterday","level":"ERROR"}',
      `{${at},"level":"NOTICE"}`,
      `{${at},"message":"no level"}`,
      '{not json',
      'plain text from print()',
    ])
      assert.equal(log.keeps(info), false, `${info} is INFO`);
    assert.equal(new PlatformLog({ logFormat: 'JSON' }).keeps('plain'), true, 'INFO at INFO');
    assert.equal(new PlatformLog({ logFormat: 'Text' }).keeps('{"level":"DEBUG"}'), true);
  });
});

it('a published version is named in START and platform.start, not $LATEST', () => {
  assert.match(
    new PlatformLog(undefined, undefined, '3').start('r1')!,
    /^START RequestId: r1 Version: 3$/,
  );
  const json = JSON.parse(new PlatformLog({ logFormat: 'JSON' }, undefined, '3').start('r1')!) as {
    record: { version: string };
  };
  assert.equal(json.record.version, '3');
});
