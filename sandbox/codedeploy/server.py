"""CodeDeploy's JSON protocol (x-amz-json-1.1, `X-Amz-Target: CodeDeploy_20141006.<Operation>`) on a local port.

Requests are validated against botocore's model of the service, as AWS validates them, so a client that
works here sends what AWS accepts. Errors carry AWS's exception names, which boto3 turns into
`client.exceptions.<Name>`. Run with `python -m sandbox.codedeploy.server` (sandbox up does it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
from botocore.validate import ParamValidator

from sandbox import api_calls
from sandbox import config as sandbox_config
from sandbox.codedeploy import engine as deployment_engine
from sandbox.codedeploy.model import ApiError
from sandbox.codedeploy.responses import CodeDeploy
from sandbox.codedeploy.store import Store

log = logging.getLogger("sandbox.codedeploy")
MODEL = botocore.session.get_session().get_service_model("codedeploy")
TARGET_PREFIX = MODEL.metadata["targetPrefix"] + "."


def _jsonable(value):
    if isinstance(value, dt.datetime):
        return value.timestamp()
    raise TypeError(f"not JSON serializable: {type(value)}")


class Handler(BaseHTTPRequestHandler):
    api: CodeDeploy
    authorizer: Any = None  # main sets it: IAM, through the AWS process's authority
    calls = api_calls.ApiCalls()
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        log.debug("%s " + format, self.address_string(), *args)

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body, default=_jsonable).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == api_calls.PATH:
            self.reply_list(self.calls.report())
            return
        # A liveness answer for `sandbox status` and the tests.
        self.reply(200, {"service": "codedeploy", "status": "running"})

    def do_DELETE(self):
        if self.path == api_calls.PATH:
            self.calls.reset()
        self.reply_list(self.calls.report())

    def reply_list(self, items: list) -> None:
        data = json.dumps(items).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        if not target.startswith(TARGET_PREFIX):
            self.reply(
                400,
                {"__type": "UnknownOperationException", "message": "This endpoint speaks CodeDeploy's JSON protocol."},
            )
            return
        name = target[len(TARGET_PREFIX) :]
        try:
            operation = MODEL.operation_model(name)
        except Exception:
            self.reply(400, {"__type": "UnknownOperationException", "message": f"Unknown operation {name}"})
            return
        method = getattr(self.api, name, None)
        self.calls.add(self.calls.caller(self.headers.get("User-Agent", "")), "codedeploy", name)
        try:
            request = json.loads(raw or b"{}")
            if method is None:
                raise ApiError("UnknownOperationException", f"The sandbox does not implement {name}.")
            if self.authorizer is not None:
                self.authorizer(self, name, request, raw)
            if operation.input_shape is not None:
                report = ParamValidator().validate(request, operation.input_shape)
                if report.has_errors():
                    raise ApiError("ValidationException", report.generate_report())
            response = method(request)
            log.info("%s %s", name, json.dumps(request, default=str)[:300])
            self.reply(200, response)
        except ApiError as e:
            log.info("%s -> %s: %s", name, e.code, e.message)
            self.reply(e.status, {"__type": e.code, "message": e.message})
        except Exception as e:
            log.exception("%s failed", name)
            self.reply(500, {"__type": "InternalFailure", "message": f"{type(e).__name__}: {e}"})


def _authorizer(cfg):
    """Asks the AWS process's IAM authority (sandbox/iam/enforcement.py) about each request this endpoint receives."""

    def authorize(handler, name: str, request: dict, raw: bytes) -> None:
        question = {
            "method": "POST",
            "path": handler.path,
            "headers": dict(handler.headers.items()),
            "body": raw.decode("utf-8"),
            "operation": name,
            "source": "codedeploy",
            "authorizations": handler.api.authorizations(name, request),
        }
        message = urllib.request.Request(
            f"{cfg.aws_endpoint}/_sandbox/iam/authorize",
            data=json.dumps(question).encode(),
            headers={"X-Sandbox-Token": cfg.internal_token, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(message, timeout=10) as response:
            answer = json.loads(response.read())
        if not answer["allowed"]:
            status = 400 if answer["code"] == "AccessDeniedException" else 403
            raise ApiError(answer["code"], answer["message"], status)

    return authorize


def main() -> None:
    cfg = sandbox_config.load()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stdout, force=True
    )
    store = Store(cfg.state / "codedeploy.sqlite3")
    engine = deployment_engine.Engine(store, cfg)
    Handler.api = CodeDeploy(store, engine, cfg.region, sandbox_config.ACCOUNT_ID)
    Handler.authorizer = staticmethod(_authorizer(cfg))
    server = ThreadingHTTPServer((cfg.host, cfg.codedeploy_port), Handler)
    server.daemon_threads = True
    engine.resume_all()
    log.info("CodeDeploy listening on %s", cfg.codedeploy_endpoint)
    server.serve_forever()


if __name__ == "__main__":
    main()
