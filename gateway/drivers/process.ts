// The process driver: each execution environment is an agent in this process
// supervising one runtime child process. Used by `selfless dev` and the tests; it
// skips a second Node start per cold start, which a separate agent process would
// cost (the agent itself is the same code that runs in pods).
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FunctionDefinition } from '../../lib/function.ts';
import type { Logger } from '../../lib/log.ts';
import type { WorkerChannel, WorkerIdentity } from '../../lib/worker-channel/channel.ts';
import { Agent } from '../../lib/agent/agent.ts';
import { closeSnapshots } from '../../lib/agent/snapshot.ts';
import { interpreterFor } from '../../lib/agent/interpreters.ts';
import { isDeprecated, runtimeInfo, type Runtime } from '../../lib/runtimes.ts';
import { materializeCode } from '../code.ts';
import { materializeLayers, type LayerSource } from '../layers/extract.ts';
import type { Driver, EnvironmentHandle } from '../pool.ts';

export interface ProcessDriverOptions {
  log: Logger;
  /** Platform variables every function gets (AWS_ENDPOINT_URL_*, region, credentials). */
  env: Record<string, string>;
  /** Where code copies and each environment's /tmp live. */
  scratchDir?: string;
  /** Function log lines go here (one call per line). */
  functionLog?: (fn: string, workerId: string, line: string) => void;
  /** Where the layers a function names are found (the gateway's layer store). */
  layers?: LayerSource;
}

/**
 * Lambda's Node.js runtimes come with the AWS SDK v3. Code copies live under
 * `scratch`, so a node_modules/@aws-sdk there is found by both require() and
 * import from any function's code, as on Lambda, without exposing anything else.
 */
function provideAwsSdk(scratch: string): void {
  const sdk = resolve(import.meta.dirname, '..', '..', 'node_modules', '@aws-sdk');
  if (!existsSync(sdk)) return;
  mkdirSync(join(scratch, 'node_modules'));
  symlinkSync(sdk, join(scratch, 'node_modules', '@aws-sdk'), 'dir');
}

export function makeProcessDriver(opts: ProcessDriverOptions): Driver {
  const scratch = mkdtempSync(join(opts.scratchDir ?? tmpdir(), 'selfless-dev-'));
  provideAwsSdk(scratch);
  // Finding each Python's version costs an interpreter start: pay it now, not in the
  // first Python cold start.
  void interpreterFor('python3.12');
  void interpreterFor('python3.13');
  const warned = new Set<Runtime>();
  // One copy of the code per definition: environments of the same version share it.
  const codeDirs = new WeakMap<FunctionDefinition, string>();
  const optDirs = new WeakMap<FunctionDefinition, string>();
  const functionLog =
    opts.functionLog ??
    ((fn: string, worker: string, line: string) =>
      opts.log.info('function output', { function: fn, worker, line }));

  return {
    name: 'process',
    async start(
      fn: FunctionDefinition,
      worker: WorkerIdentity,
      channel: WorkerChannel,
    ): Promise<EnvironmentHandle> {
      const runtime = fn.spec.runtime;
      // Once per runtime, as Lambda's console marks it; it runs all the same.
      if (isDeprecated(runtime) && !warned.has(runtime)) {
        warned.add(runtime);
        opts.log.warn('runtime deprecated', {
          runtime,
          deprecation: runtimeInfo(runtime).deprecation,
          function: fn.name,
        });
      }
      let codeDir = codeDirs.get(fn);
      if (!codeDir) {
        codeDir = materializeCode(fn, scratch);
        codeDirs.set(fn, codeDir);
      }
      let optDir = optDirs.get(fn);
      if (!optDir && fn.spec.layers) {
        optDir = materializeLayers(fn, opts.layers, scratch);
        optDirs.set(fn, optDir);
      }
      const tmpDir = join(scratch, 'tmp', worker.workerId);
      mkdirSync(tmpDir, { recursive: true });
      const agent = new Agent({
        channel,
        worker,
        fn,
        codeDir,
        ...(optDir !== undefined && { optDir }),
        tmpDir,
        env: opts.env,
        log: (line) => functionLog(worker.functionName, worker.workerId, line),
      });
      let exit!: () => void;
      const exited = new Promise<void>((resolve) => (exit = resolve));
      try {
        await agent.start();
      } catch (err) {
        rmSync(tmpDir, { recursive: true, force: true });
        throw err;
      }
      return {
        exited,
        stop: async () => {
          await agent.stop();
          rmSync(tmpDir, { recursive: true, force: true });
          exit();
        },
      };
    },
    async close() {
      closeSnapshots();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
