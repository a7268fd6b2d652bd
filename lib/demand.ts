// The demand report the operator scales workers on. Each gateway replica answers
// GET /_selfless/demand with what it holds right now, per function: invocations in
// flight on its workers plus invocations waiting for a worker (sync callers parked
// and async events it is dispatching). The operator sums the answers of every
// replica (it resolves the gateway's headless Service to all of them), so a replica
// reports only its own share and nothing is counted twice.
import type { IncomingMessage, ServerResponse } from 'node:http';

export const DEMAND_PATH = '/_selfless/demand';

export interface FunctionDemand {
  namespace: string;
  name: string;
  inFlight: number;
  queued: number;
  /**
   * Warm-pool pods this replica made workers of the function (lib/warm-pool.ts), for
   * the operator to adopt; absent when none.
   */
  specializedPods?: string[];
  /**
   * The function's own workers (not from a pool) connected to this replica: a
   * specialized pod may go once one is (every worker polls every replica).
   */
  ownWorkers?: number;
}

export interface DemandReport {
  functions: FunctionDemand[];
}

/** A node:http (and express) handler serving the report of `current()`. */
export function makeDemandHandler(
  current: () => FunctionDemand[],
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const body: DemandReport = { functions: current() };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
}

export function parseDemandReport(text: string): DemandReport {
  const raw = JSON.parse(text) as unknown;
  const fns = (raw as { functions?: unknown }).functions;
  if (!Array.isArray(fns)) throw new Error('demand report: functions must be a list');
  return {
    functions: fns.map((f: Record<string, unknown>) => {
      if (typeof f.namespace !== 'string' || typeof f.name !== 'string') {
        throw new Error('demand report: each entry needs namespace and name');
      }
      const demand: FunctionDemand = {
        namespace: f.namespace,
        name: f.name,
        inFlight: Math.max(0, Number(f.inFlight) || 0),
        queued: Math.max(0, Number(f.queued) || 0),
      };
      const own = Number(f.ownWorkers);
      if (Number.isInteger(own) && own > 0) demand.ownWorkers = own;
      if (Array.isArray(f.specializedPods)) {
        const pods = f.specializedPods.filter((p): p is string => typeof p === 'string');
        if (pods.length > 0) demand.specializedPods = pods;
      }
      return demand;
    }),
  };
}
