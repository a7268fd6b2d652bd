// Selfless's Node.js runtime (nodejs20.x, nodejs22.x): a Lambda Runtime API client
// with no dependencies, started as `node bootstrap.mjs` by the agent. It loads the
// handler named by _HANDLER from LAMBDA_TASK_ROOT (CommonJS or ESM), then loops:
// GET next -> call the handler (async or callback style) -> POST response or error.
// With AWS_LAMBDA_MAX_CONCURRENCY = N (Lambda Managed Instances) N such loops run
// in this one process, as Lambda's Node.js runtime does; console lines name the
// event whose async work wrote them.
// Error documents and console lines follow Lambda's Node.js runtime. Handlers wrapped
// in `awslambda.streamifyResponse` stream their response (the Runtime API's
// streaming mode: chunked, errors in trailers).
import { AsyncLocalStorage } from 'node:async_hooks';
import { request, Agent } from 'node:http';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

const env = process.env;
const [apiHost, apiPort] = (env.AWS_LAMBDA_RUNTIME_API ?? '').split(':');
const concurrency = Math.max(1, Number.parseInt(env.AWS_LAMBDA_MAX_CONCURRENCY ?? '1', 10) || 1);
// Each loop has at most one request open: a parked next, or its answer.
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const taskRoot = env.LAMBDA_TASK_ROOT ?? process.cwd();

// One event at a time: a plain variable. Several: each event's id follows its async work.
const requestContext = concurrency > 1 ? new AsyncLocalStorage() : undefined;
let singleRequestId = undefined;
const currentRequestId = () => (requestContext ? requestContext.getStore() : singleRequestId);

// ---- the Runtime API ------------------------------------------------------------

function call(method, path, body, headers = {}) {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      {
        host: apiHost,
        port: apiPort,
        method,
        path: `/2018-06-01/runtime/${path}`,
        agent,
        headers: body === undefined ? headers : { ...headers, 'Content-Length': body.length },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolvePromise({
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function post(path, body, headers) {
  const res = await call('POST', path, body, { 'Content-Type': 'application/json', ...headers });
  if (res.status !== 202) {
    writeLine(`Runtime API ${path} answered ${res.status}: ${res.body.toString('utf8')}`);
  }
}

// ---- logging --------------------------------------------------------------------

function writeLine(text) {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

// Lambda's log levels, most detail first. AWS_LAMBDA_LOG_LEVEL (set with the JSON
// format) silences the console methods below it; console.log is console.info.
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const threshold = Math.max(0, LEVELS.indexOf((env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase()));
const jsonLogs = (env.AWS_LAMBDA_LOG_FORMAT ?? '').toUpperCase() === 'JSON';

/** An Error as JSON records carry it: errorType, errorMessage, stackTrace, its own fields. */
function errorFields(err) {
  return {
    errorType: err?.constructor?.name ?? 'UnknownError',
    errorMessage: err.message,
    stackTrace: typeof err.stack === 'string' ? err.stack.split('\n') : err.stack,
    ...err,
  };
}

/**
 * One JSON record: a single argument (or none) is the message as it is (an object stays an
 * object, an Error becomes its fields); several are formatted, and the first Error
 * among them adds its type, message and stack.
 */
function jsonRecord(level, args) {
  const record = { timestamp: new Date().toISOString(), level, requestId: currentRequestId() };
  if (args.length <= 1) {
    record.message = args[0];
    try {
      return JSON.stringify(record, (_, v) => (v instanceof Error ? errorFields(v) : v));
    } catch {
      record.message = format(args[0]);
      return JSON.stringify(record);
    }
  }
  record.message = format(...args);
  const err = args.find((a) => a instanceof Error);
  if (err) {
    record.errorType = err.constructor?.name ?? 'UnknownError';
    record.errorMessage = err.message;
    record.stackTrace = typeof err.stack === 'string' ? err.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

function textRecord(level, args) {
  let message = format(...args);
  if (level === 'TRACE')
    message = `Trace: ${message}\n${new Error().stack.split('\n').slice(3).join('\n')}`;
  return `${new Date().toISOString()}\t${currentRequestId()}\t${level}\t${message}`;
}

const record = jsonLogs ? jsonRecord : textRecord;
for (const [method, level] of [
  ['trace', 'TRACE'],
  ['debug', 'DEBUG'],
  ['info', 'INFO'],
  ['warn', 'WARN'],
  ['error', 'ERROR'],
  ['fatal', 'FATAL'],
]) {
  console[method] =
    LEVELS.indexOf(level) >= threshold ? (...args) => writeLine(record(level, args)) : () => {};
}
console.log = console.info;

/**
 * How the runtime logs a failure: in Text `<what> \t<error document>`; in JSON the
 * error itself, as Lambda's runtime logs it (console.error of the Error).
 */
function logFailure(what, err, doc) {
  if (jsonLogs) console.error(err instanceof Error ? err : new Error(String(err)));
  else console.error('%s \t%s', what, JSON.stringify(doc));
}

// ---- errors ---------------------------------------------------------------------

// One class per Runtime.* error, named on its prototype, as Lambda's Node.js runtime
// makes them: the error document's errorType is `Runtime.HandlerNotFound`, a JSON
// log record's (the class name) `HandlerNotFound`.
const runtimeErrorClasses = new Map();

function runtimeError(name, message, cause) {
  let RuntimeError = runtimeErrorClasses.get(name);
  if (!RuntimeError) {
    const short = name.replace(/^Runtime\./, '');
    RuntimeError = { [short]: class extends Error {} }[short];
    RuntimeError.prototype.name = name;
    runtimeErrorClasses.set(name, RuntimeError);
  }
  const err = new RuntimeError(message);
  if (cause?.stack)
    err.stack = `${name}: ${message}\n${cause.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

/** Lambda's error document: `{errorType, errorMessage, trace}`. */
function errorDocument(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name ?? 'Error',
      errorMessage: err.message,
      trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
    };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

function errorBody(err) {
  const doc = errorDocument(err);
  return { doc, body: Buffer.from(JSON.stringify(doc)) };
}

// ---- loading the handler ---------------------------------------------------------

/** `dir/file.a.b` -> module `dir/file`, export path `a.b`, as Lambda splits it. */
function splitHandler(handler) {
  const slash = handler.lastIndexOf('/') + 1;
  const dot = handler.indexOf('.', slash);
  if (dot < 0) throw runtimeError('Runtime.MalformedHandlerName', `Bad handler ${handler}`);
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}

async function loadModule(modulePath) {
  const base = resolve(taskRoot, modulePath);
  const require = createRequire(join(taskRoot, 'index.js'));
  try {
    for (const ext of ['.js', '.mjs', '.cjs']) {
      const file = base + ext;
      if (!existsSync(file)) continue;
      if (ext === '.mjs') return await import(pathToFileURL(file).href);
      if (ext === '.cjs') return require(file);
      try {
        return require(file);
      } catch (err) {
        // A .js file under "type": "module" is ESM.
        if (err?.code !== 'ERR_REQUIRE_ESM') throw err;
        return await import(pathToFileURL(file).href);
      }
    }
    // Lambda also accepts a package name resolvable from the task root.
    return require(modulePath);
  } catch (err) {
    if (err instanceof SyntaxError)
      throw runtimeError('Runtime.UserCodeSyntaxError', `${err.name}: ${err.message}`, err);
    if (err?.code === 'MODULE_NOT_FOUND' || err?.code === 'ERR_MODULE_NOT_FOUND') {
      throw runtimeError(
        'Runtime.ImportModuleError',
        `Error: Cannot find module '${modulePath}'`,
        err,
      );
    }
    throw err;
  }
}

async function loadHandler() {
  const full = env._HANDLER ?? '';
  const [modulePath, exportPath] = splitHandler(full);
  const mod = await loadModule(modulePath);
  let fn = mod;
  for (const key of exportPath.split('.')) fn = fn?.[key];
  // A CommonJS module imported as ESM keeps its exports on `default`.
  if (typeof fn !== 'function' && mod?.default) {
    fn = mod.default;
    for (const key of exportPath.split('.')) fn = fn?.[key];
  }
  if (fn === undefined)
    throw runtimeError('Runtime.HandlerNotFound', `${full} is undefined or not exported`);
  if (typeof fn !== 'function')
    throw runtimeError('Runtime.HandlerNotFound', `${full} is not a function`);
  return fn;
}

// ---- response streaming ---------------------------------------------------------

// The names Lambda's own Node.js runtime uses, so handlers that test for them agree.
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const STREAM_RESPONSE = 'response';
const HTTP_INTEGRATION_TYPE = 'application/vnd.awslambda.http-integration-response';

/**
 * The `responseStream` a streaming handler writes to: a Writable whose bytes go to
 * the Runtime API as they are written. The POST starts at the first write (or the
 * end), so `setContentType` works until then.
 */
function createResponseStream(id) {
  let req;
  let contentType = 'application/octet-stream';
  let answered = Promise.resolve();
  const open = () => {
    if (req) return;
    req = request({
      host: apiHost,
      port: apiPort,
      method: 'POST',
      path: `/2018-06-01/runtime/invocation/${id}/response`,
      agent,
      headers: {
        'Content-Type': contentType,
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      },
    });
    answered = new Promise((resolveAnswer) => {
      req.on('response', (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 202) {
            writeLine(
              `Runtime API invocation/${id}/response answered ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8')}`,
            );
          }
          resolveAnswer();
        });
      });
      req.on('error', (err) => {
        writeLine(`Runtime API invocation/${id}/response failed: ${err.message}`);
        resolveAnswer();
      });
    });
    const before = stream._onBeforeFirstWrite;
    stream._onBeforeFirstWrite = undefined;
    before?.((bytes) => req.write(bytes));
  };
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      open();
      req.write(chunk, () => callback());
    },
    final(callback) {
      open();
      req.end(() => callback());
    },
  });
  stream.setContentType = (type) => {
    contentType = type;
  };
  /** Ends the response with the error in the trailers, whatever was written before. */
  stream.fail = (doc) => {
    open();
    if (!req.writableEnded) {
      req.addTrailers({
        'Lambda-Runtime-Function-Error-Type': doc.errorType,
        'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(doc)).toString('base64'),
      });
      req.end();
    }
    stream.destroy();
  };
  stream.answered = () => answered;
  return stream;
}

class HttpResponseStream {
  /**
   * A Function URL's streamed response: the status, headers and cookies as a JSON
   * prelude, eight NUL bytes, then the body, as Lambda's runtime frames it.
   */
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION_TYPE);
    const metadata = JSON.stringify(prelude ?? {});
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(8));
    };
    return underlyingStream;
  }
}

globalThis.awslambda = {
  streamifyResponse(handler, options) {
    handler[HANDLER_STREAMING] = STREAM_RESPONSE;
    if (options?.highWaterMark !== undefined) handler.highWaterMark = options.highWaterMark;
    return handler;
  },
  HttpResponseStream,
};

/**
 * Runs a streaming handler. An async handler is done when its promise settles (a
 * stream it left open is ended then); any other is done when it ends the stream.
 */
async function invokeStreaming(handler, event, headers, id) {
  const stream = createResponseStream(id);
  const context = makeContext(headers, () => undefined);
  let failure;
  try {
    const returned = handler(event, stream, context);
    if (returned && typeof returned.then === 'function') {
      await returned;
      if (!stream.writableEnded) stream.end();
    }
    await finished(stream);
  } catch (err) {
    failure = err ?? new Error('handled');
  }
  if (failure !== undefined) {
    const doc = errorDocument(failure);
    logFailure('Invoke Error', failure, doc);
    stream.fail(doc);
  }
  await stream.answered();
}

// ---- invoking -------------------------------------------------------------------

function makeContext(headers, finish) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const parse = (name) => {
    const v = headers[name];
    return v ? JSON.parse(v) : undefined;
  };
  const clientContext = parse('lambda-runtime-client-context');
  const identity = parse('lambda-runtime-cognito-identity');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext,
    identity,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: (err, result) => finish(err, result),
    succeed: (result) => finish(null, result),
    fail: (err) => finish(err ?? 'handled'),
  };
}

/**
 * Runs one event. Async handlers answer when their promise settles; callback-style
 * handlers answer when the callback is called (after the event loop empties, unless
 * callbackWaitsForEmptyEventLoop is false) or, if never called, when it empties.
 */
function runHandler(handler, event, headers) {
  return new Promise((resolvePromise) => {
    let settled = false;
    let context;
    const answer = (err, result) => {
      if (settled) return;
      settled = true;
      process.removeListener('beforeExit', onEmpty);
      resolvePromise({ err, result });
    };
    let pending;
    const onEmpty = () => answer(pending?.err ?? null, pending?.result);
    const finish = (err, result) => {
      if (settled || pending) return;
      pending = { err: err ?? null, result };
      if (!context.callbackWaitsForEmptyEventLoop) answer(pending.err, pending.result);
    };
    context = makeContext(headers, finish);
    try {
      const returned = handler(event, context, finish);
      if (returned && typeof returned.then === 'function') {
        returned.then(
          (r) => answer(null, r),
          (e) => answer(e ?? new Error('handled')),
        );
        return;
      }
    } catch (err) {
      answer(err);
      return;
    }
    if (!settled) process.on('beforeExit', onEmpty);
  });
}

async function invoke(handler, next) {
  const id = next.headers['lambda-runtime-aws-request-id'];
  singleRequestId = id;
  let outcome;
  try {
    const event = JSON.parse(next.body.toString('utf8') || 'null');
    if (handler[HANDLER_STREAMING] === STREAM_RESPONSE) {
      await invokeStreaming(handler, event, next.headers, id);
      return;
    }
    outcome = await runHandler(handler, event, next.headers);
  } catch (err) {
    outcome = { err };
  }
  if (outcome.err !== null && outcome.err !== undefined) {
    const { doc, body } = errorBody(outcome.err);
    logFailure('Invoke Error', outcome.err, doc);
    await post(`invocation/${id}/error`, body, {
      'Lambda-Runtime-Function-Error-Type': doc.errorType,
    });
    return;
  }
  let body;
  try {
    body = Buffer.from(JSON.stringify(outcome.result) ?? 'null');
  } catch (err) {
    const { doc, body: errBody } = errorBody(
      runtimeError('Runtime.MarshalError', `Unable to stringify response body: ${err.message}`),
    );
    await post(`invocation/${id}/error`, errBody, {
      'Lambda-Runtime-Function-Error-Type': doc.errorType,
    });
    return;
  }
  await post(`invocation/${id}/response`, body);
}

// A crash inside user code ends this process after reporting it, as Lambda does.
async function crash(err, errorType) {
  const doc = errorDocument(err);
  if (errorType) doc.errorType = errorType;
  logFailure(errorType ? 'Unhandled Promise Rejection' : 'Uncaught Exception', err, doc);
  const id = currentRequestId();
  const path = id ? `invocation/${id}/error` : 'init/error';
  try {
    await post(path, Buffer.from(JSON.stringify(doc)), {
      'Lambda-Runtime-Function-Error-Type': doc.errorType,
    });
  } finally {
    process.exit(129);
  }
}
process.on('uncaughtException', (err) => void crash(err));
process.on(
  'unhandledRejection',
  (reason) =>
    void crash(
      reason instanceof Error ? reason : new Error(String(reason)),
      'Runtime.UnhandledPromiseRejection',
    ),
);

async function main() {
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    const doc = errorDocument(err);
    logFailure('Uncaught Exception', err, doc);
    await post('init/error', Buffer.from(JSON.stringify(doc)), {
      'Lambda-Runtime-Function-Error-Type': doc.errorType,
    });
    process.exit(129);
  }
  await Promise.all(Array.from({ length: concurrency }, () => loop(handler)));
}

async function loop(handler) {
  for (;;) {
    singleRequestId = undefined;
    const next = await call('GET', 'invocation/next');
    if (next.status !== 200) {
      writeLine(`Runtime API next answered ${next.status}: ${next.body.toString('utf8')}`);
      process.exit(1);
    }
    // As Lambda's runtime does: the AWS SDKs copy it into X-Amzn-Trace-Id on their
    // calls (recursion detection), so a chain of invocations carries its lineage.
    const trace = next.headers['lambda-runtime-trace-id'];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else delete process.env._X_AMZN_TRACE_ID;
    if (requestContext) {
      const id = next.headers['lambda-runtime-aws-request-id'];
      await requestContext.run(id, () => invoke(handler, next));
    } else await invoke(handler, next);
  }
}

main().catch((err) => {
  writeLine(`Selfless runtime failed: ${err?.stack ?? err}`);
  process.exit(1);
});
