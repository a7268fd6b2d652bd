import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  InProcessRecursionConfigStore,
  RecursionConfigs,
  functionTag,
  lineage,
  newTraceHeader,
  nextHop,
  traceHeaderOf,
} from './recursion.ts';
import { testFunction } from '../test/support/gateway.ts';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:loop';
const OTHER = 'arn:aws:lambda:us-east-1:000000000000:function:other';
const NOW = Date.UTC(2026, 0, 1);

test('a new trace header is an X-Ray header stamped with the time', () => {
  const h = newTraceHeader(NOW);
  assert.match(h, /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/);
  assert.equal(h.slice(7, 15), (NOW / 1000).toString(16));
});

test("a caller's header with a valid Root is kept; none or a malformed one is replaced", () => {
  const h = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  assert.equal(traceHeaderOf(h, NOW), h);
  assert.match(traceHeaderOf(undefined, NOW), /^Root=1-/);
  assert.notEqual(traceHeaderOf('Root=nonsense', NOW), 'Root=nonsense');
});

test("each hop raises the function's own Lineage count, keeping the trace and other functions' counts", () => {
  const first = nextHop(undefined, ARN, NOW);
  assert.equal(first.count, 1);
  const root = /Root=([^;]+)/.exec(first.header)![1];
  let h = first.header;
  for (let n = 2; n <= 17; n++) {
    const hop = nextHop(h, ARN, NOW);
    assert.equal(hop.count, n);
    h = hop.header;
  }
  assert.equal(/Root=([^;]+)/.exec(h)![1], root, 'one trace for the whole chain');
  const other = nextHop(h, OTHER, NOW);
  assert.equal(other.count, 1, 'another function counts from one');
  assert.deepEqual(
    [...lineage(other.header)],
    [
      [functionTag(ARN), 17],
      [functionTag(OTHER), 1],
    ],
  );
  assert.match(other.header, /;Lineage=[0-9a-f]{8}:17\|[0-9a-f]{8}:1$/);
});

test('a hop is a pure function of the header it starts from', () => {
  const h = nextHop(undefined, ARN, NOW).header;
  assert.equal(nextHop(h, ARN, NOW).header, nextHop(h, ARN, NOW).header);
});

test('malformed Lineage entries are ignored', () => {
  const h = `Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=zz:1|${functionTag(ARN)}:3|abc`;
  assert.equal(nextHop(h, ARN, NOW).count, 4);
});

test("the setting: the API's if put, else the spec's recursiveLoop, else Terminate", async () => {
  let now = 0;
  const configs = new RecursionConfigs(new InProcessRecursionConfigStore(), 1000, () => now);
  const plain = testFunction('loop');
  const declared = testFunction('loop', {}, { recursiveLoop: 'Allow' });
  assert.equal(await configs.effective(plain), 'Terminate');
  assert.equal(await configs.effective(declared), 'Allow');
  await configs.put('loop', 'Terminate');
  assert.equal(await configs.effective(declared), 'Terminate', 'seen at once where it was put');
  now = 5000;
  await configs.put('loop', 'Allow');
  assert.equal(await configs.effective(plain), 'Allow');
});
