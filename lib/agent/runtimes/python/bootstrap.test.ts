// Selfless's Python runtime under a real Agent: handler loading, the context object,
// Lambda's error documents, timeouts and the memory cap.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { json, withAgent } from '../../../../test/support/agent.ts';

const py = (
  handler: string,
  files: Record<string, string>,
  extra: Record<string, unknown> = {},
) => ({
  spec: { runtime: 'python3.12', handler, ...extra },
  files,
});

describe('Python runtime', () => {
  it('calls handler(event, context) in a warm, reused interpreter', async () => {
    const files = {
      'app.py': `import os
calls = 0
def handler(event, context):
    global calls
    calls += 1
    print("got", event)
    return {"calls": calls, "pid": os.getpid(), "event": event}
`,
    };
    await withAgent(py('app.handler', files), async ({ channel, logs }) => {
      const a = await channel.invoke({ n: 1 });
      const b = await channel.invoke({ n: 2 });
      assert.equal(a.functionError, undefined, a.payload.toString());
      assert.deepEqual(json(a.payload).event, { n: 1 });
      assert.equal(json(b.payload).calls, 2);
      assert.equal(json(b.payload).pid, json(a.payload).pid);
      assert.ok(a.initDurationMs! > 0);
      assert.equal(b.initDurationMs, undefined);
      assert.ok(logs.includes("got {'n': 1}"));
    });
  });

  it('sets _X_AMZN_TRACE_ID per invocation from Lambda-Runtime-Trace-Id, as botocore reads it', async () => {
    const files = {
      'app.py': `import os
def handler(event, context):
    return {"trace": os.environ.get("_X_AMZN_TRACE_ID")}
`,
    };
    const traceId = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0';
    await withAgent(py('app.handler', files), async ({ channel }) => {
      assert.deepEqual(json((await channel.invoke({}, { traceId })).payload), { trace: traceId });
      assert.deepEqual(json((await channel.invoke({})).payload), { trace: null });
    });
  });

  it('loads handlers from packages and gives the full context object', async () => {
    const files = {
      'pkg/__init__.py': '',
      'pkg/handlers.py': `import os, logging
logging.getLogger().setLevel(logging.INFO)
def main(event, context):
    logging.info("via logging")
    cc = context.client_context
    return {
        "function_name": context.function_name, "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn, "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id, "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name, "remaining": context.get_remaining_time_in_millis(),
        "custom": cc.custom, "app_title": cc.client.app_title,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "tz": os.environ["TZ"], "handler": os.environ["_HANDLER"], "tmp": os.environ["TMPDIR"],
    }
`,
    };
    await withAgent(
      py('pkg/handlers.main', files, { timeout: 5, memorySize: 512 }),
      async ({ channel, logs, tmpDir }) => {
        const r = await channel.invoke(
          {},
          {
            timeoutSeconds: 5,
            clientContext: JSON.stringify({ custom: { k: 1 }, client: { app_title: 'shop' } }),
            cognitoIdentity: JSON.stringify({
              cognitoIdentityId: 'cid',
              cognitoIdentityPoolId: 'pool',
            }),
          },
        );
        const c = json(r.payload);
        assert.equal(r.functionError, undefined, r.payload.toString());
        assert.equal(c.function_name, 'fixture-fn');
        assert.equal(c.function_version, '$LATEST');
        assert.equal(
          c.invoked_function_arn,
          'arn:aws:lambda:us-east-1:000000000000:function:fixture-fn',
        );
        assert.equal(c.memory_limit_in_mb, '512');
        assert.equal(c.aws_request_id, r.requestId);
        assert.equal(c.log_group_name, '/aws/lambda/fixture-fn');
        assert.match(String(c.log_stream_name), /\[\$LATEST\][0-9a-f]{32}$/);
        assert.ok((c.remaining as number) > 4000 && (c.remaining as number) <= 5000);
        assert.deepEqual(c.custom, { k: 1 });
        assert.equal(c.app_title, 'shop');
        assert.deepEqual(c.identity, ['cid', 'pool']);
        assert.equal(c.tz, ':UTC');
        assert.equal(c.handler, 'pkg/handlers.main');
        assert.equal(c.tmp, tmpDir);
        assert.ok(
          logs.some((l) =>
            new RegExp(
              `^\\[INFO\\]\\t\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${r.requestId}\\tvia logging$`,
            ).test(l),
          ),
        );
        assert.ok(!logs.includes(''), 'a logging record is one line, no empty one after it');
      },
    );
  });

  it("returns an exception in Lambda's shape and keeps serving", async () => {
    const files = {
      'app.py': `class PaymentError(Exception):
    pass
def handler(event, context):
    if event.get("ok"):
        return "fine"
    raise PaymentError("card declined")
`,
    };
    await withAgent(py('app.handler', files), async ({ channel }) => {
      const r = await channel.invoke({});
      assert.equal(r.functionError, 'Unhandled');
      const doc = json(r.payload);
      assert.equal(doc.errorType, 'PaymentError');
      assert.equal(doc.errorMessage, 'card declined');
      assert.equal(doc.requestId, r.requestId);
      const trace = doc.stackTrace as string[];
      assert.equal(trace.length, 1, 'user frames only');
      assert.match(trace[0]!, /app\.py", line 6, in handler/);
      assert.equal((await channel.invoke({ ok: true })).payload.toString(), '"fine"');
    });
  });

  for (const [name, handler, files, errorType, message] of [
    [
      'a missing function',
      'app.nope',
      { 'app.py': 'x = 1\n' },
      'Runtime.HandlerNotFound',
      "Handler 'nope' missing on module 'app'",
    ],
    [
      'a missing module',
      'gone.handler',
      { 'app.py': '' },
      'Runtime.ImportModuleError',
      "Unable to import module 'gone': No module named 'gone'",
    ],
    [
      'a syntax error',
      'app.handler',
      { 'app.py': 'def handler(:\n' },
      'Runtime.UserCodeSyntaxError',
      /^Syntax error in module 'app': /,
    ],
  ] as const) {
    it(`fails init with ${errorType} for ${name}`, async () => {
      await withAgent(py(handler, files), async ({ channel }) => {
        const r = await channel.invoke({});
        assert.equal(r.functionError, 'Unhandled');
        const doc = json(r.payload);
        assert.equal(doc.errorType, errorType);
        if (typeof message === 'string') assert.equal(doc.errorMessage, message);
        else assert.match(String(doc.errorMessage), message);
        assert.equal(channel.initFailures[0]?.error.errorType, errorType);
      });
    });
  }

  it('times out, kills the interpreter and starts a new one', async () => {
    const files = {
      'app.py': `import os, time
def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return os.getpid()
`,
    };
    await withAgent(py('app.handler', files, { timeout: 1 }), async ({ channel }) => {
      const pid = (await channel.invoke({}, { timeoutSeconds: 1 })).payload.toString();
      const r = await channel.invoke({ sleep: 5 }, { timeoutSeconds: 1 });
      assert.equal(r.functionError, 'Unhandled');
      assert.match(String(json(r.payload).errorMessage), / Task timed out after 1\.00 seconds$/);
      const after = (await channel.invoke({}, { timeoutSeconds: 1 })).payload.toString();
      assert.notEqual(after, pid);
    });
  });

  it('caps the address space from memorySize: a too-large allocation raises MemoryError', async () => {
    const files = {
      'app.py': `def handler(event, context):
    data = bytearray(event["mb"] * 1024 * 1024)
    return len(data)
`,
    };
    await withAgent(py('app.handler', files), async ({ channel }) => {
      assert.equal((await channel.invoke({ mb: 32 })).payload.toString(), String(32 * 1024 * 1024));
      const r = await channel.invoke({ mb: 400 });
      assert.equal(r.functionError, 'Unhandled');
      assert.equal(json(r.payload).errorType, 'MemoryError');
    });
  });

  it('refuses a result that is not JSON with Runtime.MarshalError', async () => {
    const files = { 'app.py': 'def handler(event, context):\n    return {1, 2}\n' };
    await withAgent(py('app.handler', files), async ({ channel }) => {
      const r = await channel.invoke({});
      assert.equal(r.functionError, 'Unhandled');
      assert.deepEqual(json(r.payload), {
        errorMessage: 'Unable to marshal response: Object of type set is not JSON serializable',
        errorType: 'Runtime.MarshalError',
        requestId: r.requestId,
        stackTrace: [],
      });
    });
  });
});

describe('Python runtime, JSON log format', () => {
  const records = (logs: string[]) =>
    logs
      .filter((l) => l.startsWith('{"timestamp"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('configures the root logger as Lambda does: JSON records at AWS_LAMBDA_LOG_LEVEL, exceptions and extra fields included', async () => {
    const files = {
      'app.py': `import logging
log = logging.getLogger("orders")
def handler(event, context):
    log.debug("d")
    log.info("i")
    log.warning("w %s", "x", extra={"orderId": 7})
    try:
        raise KeyError("k")
    except KeyError:
        log.exception("failed")
    print("plain")
    return logging.getLogger().level
`,
    };
    await withAgent(
      py('app.handler', files, {
        loggingConfig: { logFormat: 'JSON', applicationLogLevel: 'INFO' },
      }),
      async ({ channel, logs }) => {
        const r = await channel.invoke({});
        assert.equal(r.payload.toString(), '20', 'the root logger at INFO');
        const [info, warning, failed, ...rest] = records(logs);
        assert.equal(rest.length, 0, JSON.stringify(rest));
        assert.deepEqual(
          { ...info, timestamp: 'T' },
          { timestamp: 'T', level: 'INFO', message: 'i', logger: 'orders', requestId: r.requestId },
        );
        assert.match(
          String(info!.timestamp),
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
          'whole seconds, as awslambdaric writes',
        );
        assert.equal(warning!.level, 'WARNING');
        assert.equal(warning!.message, 'w x');
        assert.equal(warning!.orderId, 7);
        assert.equal(failed!.level, 'ERROR');
        assert.equal(failed!.errorType, 'KeyError');
        assert.equal(failed!.errorMessage, "'k'");
        assert.ok(Array.isArray(failed!.stackTrace));
        assert.match(String(failed!.location), /app\.py:handler:\d+$/);
        assert.ok(logs.includes('plain'), 'print() stays a plain line');
        assert.ok(!logs.includes(''), 'a record is one line, no empty one after it');
      },
    );
  });

  it('maps TRACE to DEBUG and logs a failed invocation as a JSON ERROR record', async () => {
    const files = {
      'app.py': `import logging
def handler(event, context):
    logging.debug("deep")
    raise ValueError("bad value")
`,
    };
    await withAgent(
      py('app.handler', files, {
        loggingConfig: { logFormat: 'JSON', applicationLogLevel: 'TRACE' },
      }),
      async ({ channel, logs }) => {
        const r = await channel.invoke({});
        assert.equal(r.functionError, 'Unhandled');
        const [debug, error] = records(logs);
        assert.equal(debug!.level, 'DEBUG');
        assert.equal(debug!.message, 'deep');
        assert.deepEqual(Object.keys(error!), [
          'timestamp',
          'level',
          'errorMessage',
          'errorType',
          'requestId',
          'stackTrace',
        ]);
        assert.match(String(error!.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(error!.errorType, 'ValueError');
        assert.equal(error!.requestId, r.requestId);
        assert.ok(!logs.some((l) => l.startsWith('[ERROR]')), 'no text line in JSON format');
      },
    );
  });
});
