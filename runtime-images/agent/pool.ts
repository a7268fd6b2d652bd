// `selfless agent --pool RUNTIME`: a warm-pool worker (lib/warm-pool.ts). It polls
// the worker channel under its pool's key until a gateway orders it to become one
// function's worker, writes that function's code into its code directory, answers
// the order with its pod's name, and returns the definition; the agent then runs as
// that function's worker for the rest of its life.
import { resolve } from 'node:path';
import { CodeError, writeCode } from '../../lib/code.ts';
import type { FunctionDefinition } from '../../lib/function.ts';
import type { Runtime } from '../../lib/runtimes.ts';
import { decodeOrder, encodeOrderAnswer, poolKey } from '../../lib/warm-pool.ts';
import type { WorkerChannel } from '../../lib/worker-channel/channel.ts';

export interface PoolWaitOptions {
  channel: WorkerChannel;
  workerId: string;
  namespace: string;
  runtime: Runtime;
  /** Where the code goes: an empty directory this process may write. */
  codeDir: string;
  /** The largest memorySize this worker's memory limit has room for. */
  maxMemorySize?: number;
  /** Named in the answer: the operator adopts the pod by this name. */
  pod: string;
  signal: AbortSignal;
  log: (line: string) => void;
}

/**
 * Waits for a specialization order and carries it out. An order this worker cannot
 * carry out (another namespace, bad code) is answered as a failure and the wait
 * goes on: the pool worker is still generic.
 */
export async function awaitSpecialization(o: PoolWaitOptions): Promise<FunctionDefinition> {
  const worker = { workerId: o.workerId, functionName: poolKey(o.namespace, o.runtime) };
  for (;;) {
    const order = await o.channel.next(worker, o.signal);
    const started = performance.now();
    const fn = decodeOrder(order.payload);
    const problem =
      typeof fn === 'string'
        ? fn
        : fn.namespace !== o.namespace || fn.spec.runtime !== o.runtime
          ? `this pool worker serves ${o.runtime} in ${o.namespace}, not ${fn.spec.runtime} in ${fn.namespace}`
          : o.maxMemorySize !== undefined && fn.spec.memorySize > o.maxMemorySize
            ? `this pool worker has room for ${o.maxMemorySize} MB, not ${fn.spec.memorySize} MB`
            : writeOrderCode(fn, o.codeDir);
    const durationMs = performance.now() - started;
    const result = {
      requestId: order.requestId,
      durationMs,
      billedDurationMs: 0,
      maxMemoryUsedMB: 0,
    };
    if (problem !== undefined || typeof fn === 'string') {
      o.log(JSON.stringify({ msg: 'specialization refused', error: problem }));
      await o.channel.complete(worker, {
        ...result,
        functionError: 'Unhandled',
        payload: Buffer.from(
          JSON.stringify({ errorType: 'Selfless.SpecializationFailed', errorMessage: problem }),
        ),
      });
      continue;
    }
    await o.channel.complete(worker, { ...result, payload: encodeOrderAnswer({ pod: o.pod }) });
    o.log(
      JSON.stringify({
        msg: 'specialized',
        function: fn.name,
        namespace: fn.namespace,
        ms: Math.round(durationMs),
      }),
    );
    return { ...fn, spec: { ...fn.spec, code: { directory: o.codeDir } } };
  }
}

/** Puts the order's code in place; a string says why it could not. */
function writeOrderCode(fn: FunctionDefinition, dir: string): string | undefined {
  try {
    writeCode(fn.spec.code, resolve(dir));
    return undefined;
  } catch (err) {
    if (err instanceof CodeError) return err.message;
    return `the code could not be written: ${err instanceof Error ? err.message : String(err)}`;
  }
}
