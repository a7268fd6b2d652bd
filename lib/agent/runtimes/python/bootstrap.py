"""Selfless's Python runtime (python3.12, python3.13): a Lambda Runtime API client
with no dependencies, started as `python3 bootstrap.py --memory-mb=N` by the agent.

It caps its address space, imports the handler named by _HANDLER from
LAMBDA_TASK_ROOT, then loops: GET next -> handler(event, context) -> POST response
or error. With AWS_LAMBDA_MAX_CONCURRENCY = N (Lambda Managed Instances) it forks N
worker processes, each with its own init and loop, as Lambda's Python runtime does;
the first process only supervises them. Error documents, the context object and log format follow Lambda's
Python runtime. HTTP is spoken over a plain socket: http.client costs ~10 ms of
imports, a fifth of this runtime's cold start.
"""

import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback

ENV = os.environ


class RuntimeApi:
    """A keep-alive HTTP/1.1 client for the agent, which always sends Content-Length."""

    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def call(self, method, path, body=b"", headers=None):
        lines = [f"{method} /2018-06-01/runtime/{path} HTTP/1.1", "Host: runtime"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = self._until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        resp_headers = {}
        for line in header_lines:
            k, _, v = line.partition(":")
            resp_headers[k.strip().lower()] = v.strip()
        return status, resp_headers, self._exactly(int(resp_headers.get("content-length", "0")))

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the Runtime API closed the connection")
        self.buf += chunk

    def _until(self, marker):
        while marker not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(marker, 1)
        return head

    def _exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class FaultException(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.trace = trace


def error_document(exc, request_id="", skip_frames=0):
    if isinstance(exc, FaultException):
        return {
            "errorMessage": str(exc),
            "errorType": exc.error_type,
            "requestId": request_id,
            "stackTrace": exc.trace or [],
        }
    frames = traceback.format_list(traceback.extract_tb(exc.__traceback__)[skip_frames:])
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": frames,
    }


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {e}")
    if modname.split("/")[0].split(".")[0] in sys.builtin_module_names:
        raise FaultException(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {modname} as a handler module",
        )
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException("Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}")
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise FaultException(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {e}", trace
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException("Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'")


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]


class ClientContext:
    __slots__ = ["custom", "env", "client"]


def make_client_context(raw):
    if not raw:
        return None
    doc = json.loads(raw)
    ctx = ClientContext()
    ctx.custom = doc.get("custom")
    ctx.env = doc.get("env")
    ctx.client = None
    client = doc.get("client")
    if client:
        ctx.client = Client()
        ctx.client.installation_id = client.get("installation_id")
        ctx.client.app_title = client.get("app_title")
        ctx.client.app_version_name = client.get("app_version_name")
        ctx.client.app_version_code = client.get("app_version_code")
        ctx.client.app_package_name = client.get("app_package_name")
    return ctx


def make_identity(raw):
    identity = CognitoIdentity()
    doc = json.loads(raw) if raw else {}
    identity.cognito_identity_id = doc.get("cognitoIdentityId")
    identity.cognito_identity_pool_id = doc.get("cognitoIdentityPoolId")
    return identity


class LambdaContext:
    def __init__(self, headers):
        self.aws_request_id = headers.get("lambda-runtime-aws-request-id")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn")
        self.function_name = ENV.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = ENV.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = ENV.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = ENV.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = ENV.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = make_client_context(headers.get("lambda-runtime-client-context"))
        self.identity = make_identity(headers.get("lambda-runtime-cognito-identity"))
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms", "0"))

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},invoked_function_arn={self.invoked_function_arn}])"
        )


class RequestIdFilter(logging.Filter):
    request_id = None

    def filter(self, record):
        # Empty outside an invocation (init), as awslambdaric's filter sets it.
        record.aws_request_id = RequestIdFilter.request_id or ""
        return True


JSON_LOGS = ENV.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
# awslambdaric's JSON timestamps are whole seconds.
JSON_TIME = "%Y-%m-%dT%H:%M:%SZ"

# LogRecord attributes that are the logging module's own, not a caller's `extra`.
RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "aws_request_id",
}


class JsonFormatter(logging.Formatter):
    """awslambdaric's JSON records: timestamp, level, message, logger, the exception's
    trace, type and message, requestId, the exception's location, then any `extra`
    fields; fields that are None are left out. Levels are rounded down to the
    standard ones. An `extra` json cannot write fails the record, as in Lambda."""

    def format(self, record):
        levelno = min(50, max(0, record.levelno)) // 10 * 10
        exc = record.exc_info
        out = {
            "timestamp": time.strftime(JSON_TIME, time.gmtime(record.created)),
            "level": logging.getLevelName(levelno),
            # A dict logged alone stays an object in the record.
            "message": record.msg
            if isinstance(record.msg, dict) and not record.args
            else record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc[2]) if exc else None,
            "errorType": exc[0].__name__ if exc else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": record.aws_request_id,
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc else None,
        }
        for key, value in vars(record).items():
            if key not in RECORD_ATTRIBUTES and key not in out:
                out[key] = value
        return json.dumps({k: v for k, v in out.items() if v is not None}, ensure_ascii=False) + "\n"


def setup_logging():
    """Lambda's root handler. Text: `[LEVEL]\\t<time>Z\\t<request id>\\t<message>`;
    JSON (AWS_LAMBDA_LOG_FORMAT): one JSON record a line, the root logger at
    AWS_LAMBDA_LOG_LEVEL (TRACE is DEBUG here). print() stays plain text in both."""
    handler = logging.StreamHandler(sys.stdout)
    # Both formats end their record with its newline, as awslambdaric's handler writes it.
    handler.terminator = ""
    if JSON_LOGS:
        handler.setFormatter(JsonFormatter())
    else:
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = ENV.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = "DEBUG" if level == "TRACE" else level
    # getLevelName gives the number of a level's name, and the name back otherwise.
    if isinstance(logging.getLevelName(level), int):
        root.setLevel(level)


# What awslambdaric logs (a WARNING record) before a failed init's error, \r included.
UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with a change in the "
    "runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


def log_error(doc):
    """A failed invocation or init as Lambda's runtime logs it."""
    if JSON_LOGS:
        stamp = time.strftime(JSON_TIME, time.gmtime())
        print(json.dumps({"timestamp": stamp, "level": "ERROR", **doc}), flush=True)
    else:
        print(f"[ERROR] {doc['errorType']}: {doc['errorMessage']}", flush=True)


def cap_memory(argv):
    for arg in argv:
        if arg.startswith("--memory-mb="):
            import resource

            limit = int(arg.split("=", 1)[1]) * 1024 * 1024
            # Address space, not RSS: the interpreter's own mappings need headroom.
            cap = limit + 64 * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def post_error(api, path, doc):
    body = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": doc["errorType"]}
    status, _, resp = api.call("POST", path, body, headers)
    if status != 202:
        print(f"Runtime API {path} answered {status}: {resp.decode(errors='replace')}")


def to_json(result):
    from decimal import Decimal

    def default(o):
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    return json.dumps(result, default=default).encode()


# A worker that fails its init exits with this; the supervisor then gives up too.
INIT_FAILED = 65
# Bytes per worker in the shared page: a length byte and the request id it holds.
HELD_SLOT = 256


class Held:
    """The request id one worker holds, in memory its supervisor can read after a crash."""

    def __init__(self, page, index):
        self.page = page
        self.at = index * HELD_SLOT

    def set(self, request_id):
        raw = (request_id or "").encode()[: HELD_SLOT - 1]
        self.page[self.at + 1 : self.at + 1 + len(raw)] = raw
        self.page[self.at] = len(raw)

    def get(self):
        n = self.page[self.at]
        return self.page[self.at + 1 : self.at + 1 + n].decode(errors="replace")


def describe_exit(status):
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exit status {code}"
    words = {9: "killed", 15: "terminated", 6: "aborted", 11: "segmentation fault", 2: "interrupt"}
    return f"signal: {words.get(-code, str(-code))}"


def supervise(workers):
    """Forks the workers and replaces one that dies; the event it held fails, the others go on."""
    import mmap

    page = mmap.mmap(-1, workers * HELD_SLOT)
    pids = {}

    def start(index):
        held = Held(page, index)
        held.set("")
        pid = os.fork()
        if pid == 0:
            try:
                serve(held)
            finally:
                os._exit(1)
        pids[pid] = index

    for i in range(workers):
        start(i)
    while True:
        pid, status = os.wait()
        index = pids.pop(pid, None)
        if index is None:
            continue
        if os.waitstatus_to_exitcode(status) == INIT_FAILED:
            for other in pids:
                os.kill(other, 9)
            sys.exit(1)
        request_id = Held(page, index).get()
        if request_id:
            how = describe_exit(status)
            print(f"RequestId: {request_id} Error: Runtime exited with error: {how}", flush=True)
            doc = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {how}",
            }
            post_error(RuntimeApi(ENV["AWS_LAMBDA_RUNTIME_API"]), f"invocation/{request_id}/error", doc)
        start(index)


def main():
    cap_memory(sys.argv[1:])
    setup_logging()
    for arg in sys.argv[1:]:
        if arg.startswith("--snapshot="):
            snapshot(arg.split("=", 1)[1])
            return
    try:
        workers = max(1, int(ENV.get("AWS_LAMBDA_MAX_CONCURRENCY", "1")))
    except ValueError:
        workers = 1
    if workers > 1:
        supervise(workers)
    else:
        serve(None)


def serve(held):
    """One worker: init, then one event at a time. `held` is set when a supervisor watches."""
    api = RuntimeApi(ENV["AWS_LAMBDA_RUNTIME_API"])
    task_root = ENV.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    try:
        handler = load_handler(ENV.get("_HANDLER", ""))
    except Exception as e:
        doc = error_document(e)
        logging.warning(UNHANDLED_INIT_WARNING)
        log_error(doc)
        post_error(api, "init/error", doc)
        if held is not None:
            sys.stdout.flush()
            os._exit(INIT_FAILED)
        sys.exit(1)

    while True:
        status, headers, body = api.call("GET", "invocation/next")
        if status != 200:
            print(f"Runtime API next answered {status}: {body.decode(errors='replace')}")
            sys.exit(1)
        request_id = headers.get("lambda-runtime-aws-request-id")
        RequestIdFilter.request_id = request_id
        # As Lambda's runtime does: botocore copies it into X-Amzn-Trace-Id on its
        # calls (recursion detection), so a chain of invocations carries its lineage.
        trace = headers.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        if held is not None:
            held.set(request_id)
        try:
            answer(api, handler, request_id, headers, body)
        finally:
            if held is not None:
                held.set("")


def answer(api, handler, request_id, headers, body):
    """Runs one event and posts its outcome."""
    try:
        event = json.loads(body) if body else None
        result = handler(event, LambdaContext(headers))
    except Exception as e:
        # The first frame is this loop's call of the handler: Lambda shows user frames only.
        doc = error_document(e, request_id, skip_frames=1)
        log_error(doc)
        post_error(api, f"invocation/{request_id}/error", doc)
        return
    try:
        payload = to_json(result)
    except (TypeError, ValueError) as e:
        doc = {
            "errorMessage": f"Unable to marshal response: {e}",
            "errorType": "Runtime.MarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
        post_error(api, f"invocation/{request_id}/error", doc)
        return
    status, _, resp = api.call(
        "POST", f"invocation/{request_id}/response", payload, {"Content-Type": "application/json"}
    )
    if status != 202:
        print(f"Runtime API response answered {status}: {resp.decode(errors='replace')}")


# SnapStart. Lambda snapshots an initialised microVM; here the snapshot is this
# process, initialised once (handler imported, before-snapshot hooks run), and each
# restore is a fork of it: the child takes over the restoring agent's connection as
# its stdout and stderr, that environment's variables and working directory, runs the
# after-restore hooks, and serves the Runtime API like a cold-started runtime.
# Control records on a connection start with a NUL byte: the child's "pid N" first,
# then this process's "exit <wait status>" once it has reaped the child.

CONTROL_FD = 3


def run_hooks(hooks, error_type):
    """Raises a FaultException of `error_type` carrying the failing hook's error."""
    try:
        for func, args, kwargs in hooks:
            func(*args, **kwargs)
    except Exception as e:
        doc = error_document(e)
        raise FaultException(error_type, doc["errorMessage"], doc["stackTrace"])


def snapshot(path):
    """Initialises, says `ready` (or `error <document>`) on fd 3, then forks one
    environment per connection to the Unix socket at `path` until fd 3 closes."""
    import selectors
    import signal

    control = os.fdopen(CONTROL_FD, "wb", buffering=0)
    task_root = ENV.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    try:
        load_handler(ENV.get("_HANDLER", ""))
        hooks = sys.modules.get("snapshot_restore_py") or importlib.import_module("snapshot_restore_py")
        before = hooks.get_before_snapshot()
        # Lambda runs them last registered first.
        run_hooks(list(reversed(before)), "Runtime.BeforeSnapshotError")
        before.clear()
    except Exception as e:
        doc = error_document(e)
        logging.warning(UNHANDLED_INIT_WARNING)
        log_error(doc)
        control.write(b"error " + json.dumps(doc).encode() + b"\n")
        sys.exit(1)

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    # SIGCHLD only has to wake the selector; the reaping happens in the loop.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    sys.stdout.flush()
    control.write(b"ready\n")
    children = {}
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, "accept")
    selector.register(wake_r, selectors.EVENT_READ, "child")
    selector.register(CONTROL_FD, selectors.EVENT_READ, "control")
    while True:
        for key, _ in selector.select():
            if key.data == "control" and not os.read(CONTROL_FD, 64):
                # The agent that owns this snapshot is gone.
                sys.exit(0)
            if key.data == "child":
                os.read(wake_r, 4096)
                reap(children)
            if key.data == "accept":
                conn, _ = server.accept()
                pid = restore(conn, [server.fileno(), wake_r, wake_w, CONTROL_FD])
                if pid:
                    children[pid] = conn


def reap(children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            try:
                conn.sendall(f"\0exit {os.waitstatus_to_exitcode(status)}\n".encode())
            except OSError:
                pass
            conn.close()


def read_request(conn):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buf += chunk
    return json.loads(buf)


def restore(conn, inherited):
    """Forks one environment for the request on `conn`; the parent gets its pid."""
    import random
    import signal

    request = read_request(conn)
    if request is None:
        conn.close()
        return 0
    sys.stdout.flush()
    pid = os.fork()
    if pid:
        return pid
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in inherited:
            os.close(fd)
        # Its own process group, so that the agent kills it and what it starts.
        os.setsid()
        conn.sendall(f"\0pid {os.getpid()}\n".encode())
        os.dup2(conn.fileno(), 1)
        os.dup2(conn.fileno(), 2)
        conn.close()
        os.chdir(request["cwd"])
        ENV.clear()
        ENV.update(request["env"])
        # What init drew from the shared seed would repeat in every environment.
        random.seed()
        restored()
    finally:
        os._exit(1)


def restored():
    """The restored environment: after-restore hooks, then the Runtime API loop."""
    hooks = sys.modules["snapshot_restore_py"]
    try:
        run_hooks(hooks.get_after_restore(), "Runtime.AfterRestoreError")
    except FaultException as e:
        doc = error_document(e)
        log_error(doc)
        post_error(RuntimeApi(ENV["AWS_LAMBDA_RUNTIME_API"]), "restore/error", doc)
        sys.stdout.flush()
        os._exit(65)
    try:
        workers = max(1, int(ENV.get("AWS_LAMBDA_MAX_CONCURRENCY", "1")))
    except ValueError:
        workers = 1
    if workers > 1:
        supervise(workers)
    else:
        serve(None)
    os._exit(0)


if __name__ == "__main__":
    main()
