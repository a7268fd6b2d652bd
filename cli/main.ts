// `selfless <component>`: each subcommand is the entry point of one component.
// Components are imported lazily so `selfless --help` stays fast and a component's
// dependencies load only when it runs.
export interface Command {
  summary: string;
  /** The component's entry module, relative to this folder, and its exported runner. */
  entry: { module: string; export: string };
}

export const commands: Record<string, Command> = {
  dev: {
    summary: 'run functions and tables on one machine, one port (default 4566)',
    entry: { module: './dev.ts', export: 'main' },
  },
  gateway: {
    summary: 'the Lambda Invoke API, HTTP routes, quotas and the worker channel',
    entry: { module: '../gateway/main.ts', export: 'main' },
  },
  tables: {
    summary: 'the DynamoDB-compatible table service',
    entry: { module: '../tables/main.ts', export: 'run' },
  },
  operator: {
    summary: 'reconciles Function and Table resources in a cluster',
    entry: { module: '../operator/main.ts', export: 'operatorCommand' },
  },
  agent: {
    summary: 'the worker agent: Lambda Runtime API server and runtime supervisor',
    entry: { module: '../runtime-images/agent/main.ts', export: 'agentCommand' },
  },
};

type Runner = (args: string[]) => Promise<number>;

async function runCommand(command: Command, args: string[]): Promise<number> {
  const mod = (await import(command.entry.module)) as Record<string, Runner>;
  return mod[command.entry.export]!(args);
}

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(
    ([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`,
  );
  return [
    'Usage: selfless <command> [options]',
    '',
    'Self-hosted serverless for Kubernetes: Lambda-style functions, DynamoDB-style tables.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `selfless <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`selfless: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  return runCommand(command, rest);
}
