// Structured logs: one JSON object a line, a fixed message plus key/value fields,
// so operators can grep by message and aggregate by field.
export type Fields = Record<string, unknown>;
export type Level = 'debug' | 'info' | 'warn' | 'error';

const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export function makeLogger(
  component: string,
  opts: { level?: Level; write?: (line: string) => void; base?: Fields } = {},
): Logger {
  const min =
    order[opts.level ?? ((process.env.SELFLESS_LOG_LEVEL as Level | undefined) || 'info')];
  const write = opts.write ?? writeStderr;
  const base = { component, ...opts.base };
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (order[level] < min) return;
    write(
      JSON.stringify(
        { time: new Date().toISOString(), level, msg, ...base, ...fields },
        errorReplacer,
      ),
    );
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => makeLogger(component, { ...opts, base: { ...opts.base, ...fields } }),
  };
}

// Lines are gathered and written once per event-loop turn: under load a component
// logs several lines per request, and stderr writes to a pipe or file are
// synchronous system calls. Whatever is pending is flushed when the process exits.
let pending: string[] = [];
let scheduled = false;

function flush(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const chunk = pending.join('');
  pending = [];
  process.stderr.write(chunk);
}

function writeStderr(line: string): void {
  pending.push(line + '\n');
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

process.on('exit', flush);

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
