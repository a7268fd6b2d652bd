import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDeprecated, RUNTIMES, runtimeFamily } from './runtimes.ts';

describe('runtimes', () => {
  it("lists Lambda's runtime identifiers of 2026 and Selfless's own provided", () => {
    assert.deepEqual(RUNTIMES, [
      'nodejs20.x',
      'nodejs22.x',
      'nodejs24.x',
      'python3.12',
      'python3.13',
      'java21',
      'java25',
      'provided.al2023',
      'provided.al2',
      'provided',
    ]);
    assert.equal(runtimeFamily('provided.al2023'), 'provided');
  });

  it("marks a runtime deprecated from Lambda's deprecation date on", () => {
    const on = (day: string) =>
      RUNTIMES.filter((r) => isDeprecated(r, new Date(`${day}T00:00:00Z`)));
    assert.deepEqual(on('2026-04-29'), ['provided']);
    assert.deepEqual(on('2026-04-30'), ['nodejs20.x', 'provided']);
    assert.deepEqual(on('2026-12-02'), ['nodejs20.x', 'provided.al2', 'provided']);
    assert.deepEqual(on('2027-04-30'), ['nodejs20.x', 'nodejs22.x', 'provided.al2', 'provided']);
  });
});
