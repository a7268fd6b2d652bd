import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { DEMAND_PATH, makeDemandHandler, parseDemandReport } from './demand.ts';

test('the demand handler serves the current report as JSON and refuses other methods', async () => {
  let inFlight = 1;
  const server = createServer(
    makeDemandHandler(() => [{ namespace: 'a', name: 'f', inFlight, queued: 2 }]),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${DEMAND_PATH}`;
  try {
    inFlight = 4;
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(parseDemandReport(await res.text()), {
      functions: [{ namespace: 'a', name: 'f', inFlight: 4, queued: 2 }],
    });
    assert.equal((await fetch(url, { method: 'POST' })).status, 405);
  } finally {
    server.close();
  }
});

test('a malformed report is an error, negative or missing counts are zero', () => {
  assert.throws(() => parseDemandReport('{}'), /functions must be a list/);
  assert.throws(() => parseDemandReport('{"functions":[{"name":"f"}]}'), /namespace and name/);
  assert.deepEqual(
    parseDemandReport('{"functions":[{"namespace":"a","name":"f","inFlight":-3}]}').functions[0],
    {
      namespace: 'a',
      name: 'f',
      inFlight: 0,
      queued: 0,
    },
  );
});
