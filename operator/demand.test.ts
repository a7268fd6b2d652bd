// The demand poller against gateways served by the gateway's own handlers: a call
// waiting for a worker is seen through the wake at once, not at the next tick.
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { DEMAND_PATH, makeDemandHandler, type FunctionDemand } from '../lib/demand.ts';
import { DEMAND_WAKE_PATH, DemandSignal, makeWakeHandler } from '../lib/demand-wake.ts';
import { makeLogger } from '../lib/log.ts';
import { DemandPoller } from './demand.ts';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function serve(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A poller whose ticks are an hour apart: whatever it sees sooner came by a wake. */
function poller(gatewayUrl: string, changed: string[], onChange?: () => void) {
  return new DemandPoller({
    gatewayUrl,
    intervalMs: 3_600_000,
    windowMs: 60_000,
    log: makeLogger('operator', { level: 'error' }),
    onChange: (key) => {
      changed.push(key);
      onChange?.();
    },
  });
}

test('a call that waits for a worker is seen at once through the wake, not at the next tick', async () => {
  const demand: FunctionDemand[] = [];
  const signal = new DemandSignal();
  const demandHandler = makeDemandHandler(() => demand);
  const wakeHandler = makeWakeHandler(signal);
  let wakeRequests = 0;
  const url = await serve((req, res) => {
    if (req.url?.startsWith(DEMAND_WAKE_PATH)) {
      wakeRequests++;
      wakeHandler(req, res);
    } else if (req.url === DEMAND_PATH) demandHandler(req, res);
    else res.writeHead(404).end();
  });
  const changed: string[] = [];
  let seen: () => void = () => undefined;
  const p = poller(url, changed, () => seen());
  p.start();
  try {
    // The first round, then the wake request held (its first answer only sets `seen`).
    await waitFor(() => wakeRequests >= 2);
    assert.equal(p.window.recent('team-a/cold').demand, 0);
    const woke = new Promise<void>((r) => (seen = r));
    demand.push({ namespace: 'team-a', name: 'cold', inFlight: 0, queued: 1 });
    signal.bump();
    await woke;
    assert.deepEqual(changed.slice(-1), ['team-a/cold']);
    assert.equal(p.window.recent('team-a/cold').demand, 1);
  } finally {
    p.stop();
  }
});

test('a gateway without the wake route is polled on its ticks alone, with no storm of retries', async () => {
  let requests = 0;
  const demandHandler = makeDemandHandler(() => []);
  const url = await serve((req, res) => {
    requests++;
    if (req.url === DEMAND_PATH) demandHandler(req, res);
    else res.writeHead(404).end();
  });
  const p = poller(url, []);
  p.start();
  try {
    await waitFor(() => requests >= 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(requests, 2, 'one report and one refused wake, then quiet');
  } finally {
    p.stop();
  }
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not reached within 5 s');
}
