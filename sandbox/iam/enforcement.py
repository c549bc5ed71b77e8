"""IAM enforced on moto's API, and the authority's endpoints for the sandbox's other processes.

moto's own enforcement (`INITIAL_NO_AUTH_ACTION_COUNT`) checks actions only and reads the Resource and Condition
elements of no policy (its source says so); it stays off, and every request moto answers is authorized here
instead, before moto acts on it: the caller by its SigV4 signature, then each (action, resource, context) of
sandbox/iam/requests.py by the authority. A refusal answers as the service does: AccessDeniedException (JSON
services), AccessDenied (query services), UnauthorizedOperation (EC2), naming the caller, action and resource.

Endpoints on the AWS port (loopback; the sandbox's processes present the internal token of config.json):
    POST /_sandbox/iam/authorize       the CodeDeploy process: a signed request and what it needs -> the caller
    POST /_sandbox/iam/assume-role     a service principal's credentials for a role its trust policy allows
    GET  /_sandbox/iam/task-credentials/<id>   an ECS task's role credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI;
                                       the task presents AWS_CONTAINER_AUTHORIZATION_TOKEN)
"""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from sandbox.iam.authority import Authority, Caller, Denied, RoleNotAssumable, Unauthenticated
from sandbox.iam.authorizations import authorizations
from sandbox.iam.reference import iam_action
from sandbox.iam.requests import Request

log = logging.getLogger("sandbox.iam")
PREFIX = "/_sandbox/iam/"
_JSON_PROTOCOLS = ("json", "rest-json")


def global_context(caller: Caller) -> dict:
    """The global condition keys every request carries (those the project's policies may use)."""
    from sandbox.config import ACCOUNT_ID

    principal = caller.arn
    if caller.kind == "role":
        principal = f"arn:aws:iam::{ACCOUNT_ID}:role/{caller.name}"  # aws:PrincipalArn of a session is its role
    context = {"aws:PrincipalArn": principal, "aws:PrincipalAccount": ACCOUNT_ID}
    if caller.kind == "user":  # aws:username is present for an IAM user only (not for a role session)
        context["aws:username"] = caller.name
    return context


def check(authority: Authority, caller: Caller, action: str, request: Request, source: str) -> None:
    """Every authorization the request needs, in order; Denied at the first refused one."""
    base = global_context(caller)
    base["aws:RequestedRegion"] = request.region
    for needed, pairs in authorizations(action, request):
        authority.require(caller, needed, [(resource, {**base, **context}) for resource, context in pairs], source)


def signing_name(headers) -> str:
    scope = str(headers.get("Authorization", "")).partition("Credential=")[2].partition(",")[0].split("/")
    return scope[3] if len(scope) > 3 else ""


_current = threading.local()  # the caller of the request this thread serves (set by Endpoints.wsgi)
# moto's IAM backend is plain dicts, read and written by the server's threads: a GetRole iterating the roles while a
# CreateRole adds one raised "dictionary changed size during iteration" (a 500 no AWS answer has). IAM and STS
# requests, and every authorization decision (it reads the same policies), hold this lock: in-process work only,
# nothing holding it calls the sandbox over HTTP.
_IAM_STATE = threading.RLock()


def enforce(authority: Authority, backend: Callable[[str], Any]) -> None:
    """Authorize every request moto answers (BaseResponse.call_action: every service the sandbox uses)."""
    from moto.core.responses import BaseResponse
    from moto.core.utils import get_service_model

    original = BaseResponse.call_action

    def call_action(self):
        operation = self._get_action()
        protocol = get_service_model(self.boto3_service_name).protocol
        try:
            caller = getattr(_current, "caller", None)
            if caller is None:
                raise getattr(_current, "error", None) or Unauthenticated(
                    "MissingAuthenticationToken", "Request is missing Authentication Token"
                )
            action = iam_action(signing_name(self.headers), operation)
            if action == "sts:GetCallerIdentity":  # always allowed (STS API reference)
                # The signer's identity: moto's answer names its default user/moto for a key it did not issue.
                return caller_identity(caller)
            request = Request(self.region, _params(self, protocol), urlparse(self.uri).path, backend)
            with _IAM_STATE:
                check(authority, caller, action, request, "api")
        except Denied as e:
            code = {"ec2": "UnauthorizedOperation"}.get(
                protocol, "AccessDeniedException" if protocol in _JSON_PROTOCOLS else "AccessDenied"
            )
            return error_response(protocol, code, str(e), 400 if protocol == "json" else 403)
        except Unauthenticated as e:
            return error_response(protocol, e.code, str(e), 403)
        if action.split(":", 1)[0] in ("iam", "sts"):
            with _IAM_STATE:
                return original(self)
        return original(self)

    BaseResponse.call_action = call_action  # type: ignore[method-assign]


def caller_identity(caller: Caller) -> tuple[int, dict, str]:
    """GetCallerIdentity as STS answers it: the user's ARN, or the role session's
    (arn:aws:sts::<account>:assumed-role/<role>/<session>), the account, and the principal's unique id."""
    from xml.sax.saxutils import escape

    from sandbox.config import ACCOUNT_ID

    if caller.kind == "user":
        user_id = "AIDA" + uuid.uuid5(uuid.NAMESPACE_URL, caller.arn).hex[:17].upper()
    else:
        session = caller.arn.rsplit("/", 1)[-1]
        user_id = "AROA" + uuid.uuid5(uuid.NAMESPACE_URL, caller.name).hex[:17].upper() + ":" + session
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>{escape(caller.arn)}</Arn><UserId>{escape(user_id)}</UserId><Account>{ACCOUNT_ID}</Account>"
        f"</GetCallerIdentityResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, body


def error_response(protocol: str, code: str, message: str, status: int) -> tuple[int, dict, str]:
    """An error as the service's protocol carries it (botocore's parsers read exactly these shapes)."""
    from xml.sax.saxutils import escape

    request_id = str(uuid.uuid4())
    if protocol in _JSON_PROTOCOLS:
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
        }
        return status, headers, json.dumps({"__type": code, "message": message, "Message": message})
    if protocol == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body


def _params(response, protocol: str) -> dict:
    if protocol in _JSON_PROTOCOLS:
        try:
            parsed = json.loads(response.body or "{}")
        except (ValueError, TypeError):
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return response._get_params()


def wsgi_headers(environ) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = environ[key]
    return headers


class Endpoints:
    """WSGI middleware: the authority's endpoints, in front of moto."""

    def __init__(self, authority: Authority, token: str, backend: Callable[[str], Any], region: str):
        self.authority, self.token, self.backend, self.region = authority, token, backend, region
        # task id -> (credentials token, role ARN, the task's ARN)
        self.task_roles: dict[str, tuple[str, str, str]] = {}

    def wsgi(self, app):
        def serve(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if not path.startswith(PREFIX):
                self.authenticate(environ)
                try:
                    return app(environ, start_response)
                finally:
                    _current.caller = _current.error = None
            status, answer = self.answer(environ, path[len(PREFIX) :])
            body = json.dumps(answer).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]

        return serve

    def authenticate(self, environ) -> None:
        """Who sent the request (before moto parses it): the raw method, URI, headers and body, as signed."""
        _current.caller = _current.error = None
        if path_is_internal(environ.get("PATH_INFO", "")) or not environ.get("HTTP_AUTHORIZATION"):
            return
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        try:
            _current.caller = self.authority.authenticate(environ["REQUEST_METHOD"], uri, wsgi_headers(environ), raw)
        except Unauthenticated as e:
            _current.error = e

    def task_credentials(self, environ, task_id: str) -> tuple[str, dict]:
        """What ECS's credentials endpoint answers a task's SDK (the container credentials provider's format)."""
        token, role_arn, _task_arn = self.task_roles.get(task_id, ("", "", ""))
        if not token or environ.get("HTTP_AUTHORIZATION") != token:
            return "403 Forbidden", {"message": "unknown task or wrong AWS_CONTAINER_AUTHORIZATION_TOKEN"}
        try:
            credentials = self.authority.assume_for_service(role_arn, "ecs-tasks.amazonaws.com", task_id)
        except RoleNotAssumable as e:
            return "403 Forbidden", {"message": str(e)}
        return "200 OK", {
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "Token": credentials["SessionToken"],
            "Expiration": credentials["Expiration"],
            "RoleArn": role_arn,
        }

    def answer(self, environ, route: str) -> tuple[str, dict]:
        if route.startswith("task-credentials/"):
            return self.task_credentials(environ, route.split("/", 1)[1])
        if environ.get("HTTP_X_SANDBOX_TOKEN") != self.token:
            return "403 Forbidden", {"message": "the sandbox's internal token is required"}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        environ["wsgi.input"] = io.BytesIO(b"")
        if route == "assume-role":
            return self.assume_role(request)
        if route == "authorize":
            return self.authorize(request)
        return "404 Not Found", {"message": f"no such endpoint: {route}"}

    def assume_role(self, request: dict) -> tuple[str, dict]:
        try:
            credentials = self.authority.assume_for_service(
                request["roleArn"], request["service"], request["session"], request.get("context")
            )
        except RoleNotAssumable as e:
            return "403 Forbidden", {"message": str(e)}
        return "200 OK", {k: v for k, v in credentials.items() if not k.startswith("_")}

    def authorize(self, request: dict) -> tuple[str, dict]:
        """A request another process received (CodeDeploy): its caller, and each authorization it needs."""
        headers = request["headers"]
        try:
            caller = self.authority.authenticate(
                request["method"], request["path"], headers, request.get("body", "").encode()
            )
            action = iam_action(signing_name({k.title(): v for k, v in headers.items()}), request["operation"])
            base = {**global_context(caller), "aws:RequestedRegion": self.region}
            for needed, pairs in request.get("authorizations") or [[action, [["*", {}]]]]:
                self.authority.require(
                    caller, needed, [(resource, {**base, **context}) for resource, context in pairs], request["source"]
                )
        except Denied as e:
            return "200 OK", {"allowed": False, "code": "AccessDeniedException", "message": str(e)}
        except Unauthenticated as e:
            return "200 OK", {"allowed": False, "code": e.code, "message": str(e)}
        return "200 OK", {"allowed": True, "caller": caller.arn}


def path_is_internal(path: str) -> bool:
    return path.startswith(("/moto-api", "/_sandbox/"))
