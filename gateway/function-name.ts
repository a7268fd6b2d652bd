// Lambda accepts a function as a name, a partial ARN (123456789012:function:name)
// or a full ARN, optionally with a qualifier (:alias or :version) at the end.
export interface FunctionRef {
  name: string;
  qualifier?: string;
}

const ARN =
  /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;
const PARTIAL = /^\d{12}:function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;
const NAME = /^([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;

export function parseFunctionRef(raw: string): FunctionRef | undefined {
  const m = ARN.exec(raw) ?? PARTIAL.exec(raw) ?? NAME.exec(raw);
  if (!m) return undefined;
  const ref: FunctionRef = { name: m[1]! };
  if (m[2] !== undefined) ref.qualifier = m[2];
  return ref;
}
