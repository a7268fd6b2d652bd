// A node:test reporter that keeps the run's totals in a file, rewritten after every
// result: with --test-force-exit the process may end before a reporter's final
// output is flushed, so nothing here waits for the end of the stream.
import { writeFileSync } from 'node:fs';

export default async function* countReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const file = process.env.SELFLESS_TEST_COUNTS;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip !== undefined || event.data.todo !== undefined) counts.skipped++;
    else if (event.type === 'test:pass') counts.passed++;
    else counts.failed++;
    if (file) writeFileSync(file, JSON.stringify(counts));
  }
  yield '';
}
