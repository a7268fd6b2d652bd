// Which interpreter runs a managed runtime: the pinned version where the cache or the
// machine has it, else this machine's nearest, with one line in the function's log
// that says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withAgent } from '../../test/support/agent.ts';
import { runtimeInfo } from '../runtimes.ts';
import { interpreterFor } from './interpreters.ts';

/** Runs `body` with an empty cache: nothing fetched. */
async function withEmptyCache(body: () => Promise<void>): Promise<void> {
  const saved = process.env.SELFLESS_CACHE;
  const dir = mkdtempSync(join(tmpdir(), 'selfless-empty-cache-'));
  process.env.SELFLESS_CACHE = dir;
  try {
    await body();
  } finally {
    if (saved === undefined) delete process.env.SELFLESS_CACHE;
    else process.env.SELFLESS_CACHE = saved;
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('interpreters', () => {
  it("a Node.js runtime whose version was not fetched runs on the agent's Node.js and its log says so at init", async () => {
    await withEmptyCache(async () => {
      const files = { 'index.mjs': 'export const handler = async () => process.version;' };
      await withAgent(
        { spec: { runtime: 'nodejs24.x', handler: 'index.handler' }, files },
        async ({ channel, logs }) => {
          const r = await channel.invoke({});
          assert.equal(JSON.parse(r.payload.toString()), process.version);
          assert.deepEqual(
            logs.filter((l) => l.startsWith('Selfless:')),
            [
              `Selfless: runtime nodejs24.x runs on this machine's Node.js ${process.versions.node}, ` +
                `not ${runtimeInfo('nodejs24.x').version} (bash runtime-images/fetch-runtimes.sh fetches it)`,
            ],
          );
        },
      );
    });
  });

  it('a Python runtime runs on an interpreter of its minor version when the machine has one (pyenv here)', async () => {
    for (const runtime of ['python3.12', 'python3.13'] as const) {
      const found = await interpreterFor(runtime);
      assert.equal(found.version.split('.').slice(0, 2).join('.'), runtime.slice(6), found.command);
      assert.equal(found.note !== undefined, found.version !== runtimeInfo(runtime).version);
    }
  });

  it("a Java runtime without its fetched JDK runs on this machine's JDK of that release or the oldest newer one", async () => {
    await withEmptyCache(async () => {
      const found = await interpreterFor('java21');
      // These machines carry JDK 17 and 25: java21 falls back to 25, never to 17.
      const feature = Number(found.version.split('.')[0]);
      assert.ok(feature >= 21, `${found.command} is Java ${found.version}`);
      assert.match(
        found.note ?? '',
        /^Selfless: runtime java21 runs on this machine's Java \S+, not 21\.0\.8/,
      );
    });
  });
});
