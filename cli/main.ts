// `selfless <component>`: each subcommand is the entry point of one component.
// Components are imported lazily so `selfless --help` stays fast and a component's
// dependencies load only when it runs.
export interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, Command> = {
  dev: {
    summary: 'run functions and tables on one machine, one port (default 4566)',
    run: async (args) => (await import('./dev.ts')).main(args),
  },
  gateway: {
    summary: 'the Lambda Invoke API, HTTP routes, quotas and the worker channel',
    run: async (args) => (await import('../gateway/main.ts')).main(args),
  },
  tables: {
    summary: 'the DynamoDB-compatible table service',
    run: async (args) => (await import('../tables/main.ts')).run(args),
  },
  operator: {
    summary: 'reconciles Function and Table resources in a cluster',
    run: async (args) => (await import('../operator/main.ts')).operatorCommand(args),
  },
  agent: {
    summary: 'the worker agent: Lambda Runtime API server and runtime supervisor',
    run: async (args) => (await import('../runtime-images/agent/main.ts')).agentCommand(args),
  },
};

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
  return command.run(rest);
}
