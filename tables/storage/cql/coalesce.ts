// Fewer socket writes to the database: cassandra-driver (4.x, lib/writers.js
// WriteQueue) flushes its queued requests on the next tick, so a request made
// from an I/O callback goes out in a write of its own. A client that issues its
// next requests from the callbacks of its last answers (the raw driver in a loop)
// gets them coalesced; a server issues them from its HTTP requests' callbacks, one
// per callback, and paid one write system call per CQL request: on loopback that
// call also runs the receiving side of TCP and wakes the database's network
// thread, and it was the largest single cost in the table service's CPU profile
// under bench/tables load (docs/benchmarks.md). Flushing in the event loop's check
// phase instead (setImmediate) sends every request made during one poll phase
// (every HTTP request read in one go) in one write, at most one loop turn later.
//
// This replaces one method of the driver's internal class, so it is applied only
// when the class is there and looks as this code expects; otherwise the driver
// keeps its own behaviour. It changes when bytes are written, never what.
import { createRequire } from 'node:module';

interface WriteQueueLike {
  isRunning: boolean;
  canWrite: boolean;
  process(): void;
  run(): void;
}

let applied: boolean | undefined;

/** Makes every cassandra-driver connection of this process flush once per loop turn. */
export function coalesceDriverWrites(): boolean {
  if (applied !== undefined) return applied;
  applied = false;
  try {
    const require = createRequire(import.meta.url);
    const { WriteQueue } = require('cassandra-driver/lib/writers.js') as {
      WriteQueue?: { prototype: WriteQueueLike };
    };
    const proto = WriteQueue?.prototype;
    // The driver's own run(): "if (!this.isRunning && this.canWrite) { ... nextTick(process) }".
    if (!proto || typeof proto.process !== 'function' || !/nextTick/.test(String(proto.run))) {
      return false;
    }
    proto.run = function (this: WriteQueueLike) {
      if (!this.isRunning && this.canWrite) {
        this.isRunning = true;
        setImmediate(() => this.process());
      }
    };
    applied = true;
  } catch {
    // Not the driver this was written for: leave it alone.
  }
  return applied;
}
