import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeLogger } from './log.ts';

test('each log record is one JSON line with message, component and fields', () => {
  const lines: string[] = [];
  const log = makeLogger('gateway', { write: (l) => lines.push(l) }).child({ fn: 'hello' });
  log.info('invoked', { ms: 3, err: new Error('boom') });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes('\n'));
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.msg, 'invoked');
  assert.equal(rec.level, 'info');
  assert.equal(rec.component, 'gateway');
  assert.equal(rec.fn, 'hello');
  assert.equal(rec.ms, 3);
  assert.deepEqual(rec.err, { name: 'Error', message: 'boom' });
});

test('records below the configured level are dropped', () => {
  const lines: string[] = [];
  const log = makeLogger('x', { level: 'warn', write: (l) => lines.push(l) });
  log.info('quiet');
  log.warn('loud');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l).msg),
    ['loud'],
  );
});
