// Runs a real Agent with a QueueChannel over code written to a temporary directory.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseFunctionSpec, type FunctionDefinition } from '../../lib/function.ts';
import { Agent, type AgentOptions } from '../../lib/agent/agent.ts';
import { QueueChannel } from './queue-channel.ts';

export interface Fixture {
  agent: Agent;
  channel: QueueChannel;
  logs: string[];
  codeDir: string;
  tmpDir: string;
  fn: FunctionDefinition;
}

export interface FixtureOptions {
  spec: Record<string, unknown>;
  /** File name -> content; names ending in `bootstrap` are made executable. */
  files: Record<string, string>;
  agent?: Partial<AgentOptions>;
}

export async function withAgent(
  o: FixtureOptions,
  body: (f: Fixture) => Promise<void>,
): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'selfless-agent-'));
  const codeDir = join(root, 'code');
  const tmpDir = join(root, 'tmp');
  for (const [name, content] of Object.entries(o.files)) {
    const path = join(codeDir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    if (name.endsWith('bootstrap')) chmodSync(path, 0o755);
  }
  mkdirSync(codeDir, { recursive: true });
  const parsed = parseFunctionSpec({ code: { directory: codeDir }, ...o.spec });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const fn: FunctionDefinition = { name: 'fixture-fn', namespace: 'default', spec: parsed.value };
  const channel = new QueueChannel(fn.name);
  const logs: string[] = [];
  const agent = new Agent({
    channel,
    worker: { workerId: 'worker-1', functionName: fn.name },
    fn,
    codeDir,
    tmpDir,
    env: { AWS_REGION: 'eu-west-1' },
    log: (line) => logs.push(line),
    restartBackoffMs: { initial: 20, max: 200 },
    ...o.agent,
  });
  await agent.start();
  try {
    await body({ agent, channel, logs, codeDir, tmpDir, fn });
  } finally {
    await agent.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

export function json(buf: Buffer): Record<string, unknown> {
  return JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
