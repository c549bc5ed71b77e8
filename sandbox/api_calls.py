"""Counts the AWS API calls each endpoint answers, by caller, service and operation, for the benchmarks
(`GET /_sandbox/api-calls`, `DELETE` resets).

The caller is told by the User-Agent: the sandbox's own CodeDeploy engine and its Lambda runs add an app id
(`AWS_SDK_UA_APP_ID` / user_agent_appid); Ansible's AWS modules say "Ansible"; the rest is "other".
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import Counter
from urllib.parse import parse_qs

PATH = "/_sandbox/api-calls"
ENGINE_APP_ID = "sandbox-codedeploy-engine"
LAMBDA_APP_ID = "sandbox-lambda"
_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")


class ApiCalls:
    def __init__(self):
        self.counts: Counter = Counter()
        self.lock = threading.Lock()

    @staticmethod
    def caller(user_agent: str) -> str:
        if f"app/{ENGINE_APP_ID}" in user_agent:
            return "codedeploy-engine"
        if f"app/{LAMBDA_APP_ID}" in user_agent:
            return "hooks"
        if "app/sandbox-ecs" in user_agent:  # sandbox/ecs/deployments.py: ECS itself, shifting rules, invoking hooks
            return "ecs-engine"
        if "Ansible" in user_agent:
            return "ansible"
        return "other"

    def add(self, caller: str, service: str, operation: str) -> None:
        with self.lock:
            self.counts[(caller, service, operation)] += 1

    def report(self) -> list[dict]:
        with self.lock:
            return [
                {"caller": c, "service": s, "operation": o, "calls": n} for (c, s, o), n in sorted(self.counts.items())
            ]

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()

    def wsgi(self, app):
        """Middleware for moto's WSGI application."""

        def counted(environ, start_response):
            if environ.get("PATH_INFO") == PATH:
                if environ.get("REQUEST_METHOD") == "DELETE":
                    self.reset()
                body = json.dumps(self.report()).encode()
                start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
                return [body]
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            match = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
            if match:
                target = environ.get("HTTP_X_AMZ_TARGET", "")
                operation = target.rsplit(".", 1)[-1] if target else ""
                if not operation:
                    query = parse_qs(environ.get("QUERY_STRING", ""))
                    form = parse_qs(raw.decode("utf-8", "replace")) if b"Action=" in raw else {}
                    operation = (form.get("Action") or query.get("Action") or [""])[0]
                if not operation:  # REST protocols (Lambda): the method and the resource
                    path = environ.get("PATH_INFO", "")
                    resource = re.sub(r"/functions/[^/]+", "/functions/{name}", path)
                    operation = f"{environ.get('REQUEST_METHOD')} {resource}"
                self.add(self.caller(environ.get("HTTP_USER_AGENT", "")), match.group(1), operation)
            return app(environ, start_response)

        return counted
