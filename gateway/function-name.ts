// Lambda accepts a function as a name, a partial ARN (123456789012:function:name)
// or a full ARN, optionally with a qualifier (:alias or :version) at the end.
export interface FunctionRef {
  name: string;
  /** The account of an ARN or partial ARN. */
  accountId?: string;
  qualifier?: string;
}

const ARN =
  /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:(\d{12}):function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;
const PARTIAL = /^(\d{12}):function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;
const NAME = /^()([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;

export function parseFunctionRef(raw: string): FunctionRef | undefined {
  const m = ARN.exec(raw) ?? PARTIAL.exec(raw) ?? NAME.exec(raw);
  if (!m) return undefined;
  const ref: FunctionRef = { name: m[2]! };
  if (m[1]) ref.accountId = m[1];
  if (m[3] !== undefined) ref.qualifier = m[3];
  return ref;
}
