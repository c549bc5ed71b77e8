"""IAM as AWS enforces it: who calls (SigV4 against the caller's access key), and whether its identity-based
policies allow each action on each resource with the request's context (sandbox/iam/policy.py decides).

One authority, in the AWS process: moto's API (patched in sandbox/aws.py), the CodeDeploy process (through
`/_sandbox/iam/authorize`), the ECS agent (the task execution role's image pulls, log writes and secret reads) and
the Lambda service (a function's network interfaces and logs) all ask it. Service principals (Lambda, ECS tasks,
CodeDeploy) get temporary credentials for a role only if its trust policy lets that service assume it, with the
condition keys that service sends (`assume_for_service`).

Every decision is appended to logs/iam-decisions.jsonl (principal, action, resource, context, decision, the
statements that decided): the record the least-privilege analysis reads.

`SANDBOX_IAM_ENFORCEMENT=off` at `sandbox up` records decisions without refusing anything (for debugging only;
CI runs with enforcement on).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from sandbox.config import ACCOUNT_ID
from sandbox.iam import policy as iam_policy

log = logging.getLogger("sandbox.iam")

# The account's administrator: the IAM user whose access key the AWS CLI and any client given the sandbox's client
# environment (config.py) use (AdministratorAccess, as an account's first identity has).
OPERATOR_USER = "sandbox-operator"
OPERATOR_ACCESS_KEY = ("testing", "testing")
# Temporary credentials last an hour (STS's default DurationSeconds); holders refresh them before they expire.
SESSION_SECONDS = 3600


@dataclass(frozen=True)
class Caller:
    arn: str  # arn:aws:iam::<account>:user/<name> or arn:aws:sts::<account>:assumed-role/<role>/<session>
    kind: str  # "user" or "role"
    name: str  # the user's or the role's name


class Denied(Exception):
    """A refused request, with AWS's message (IAM User Guide, "Troubleshooting access denied error messages")."""

    def __init__(self, caller: Caller, action: str, resource: str, decision: iam_policy.Decision):
        why = (
            "with an explicit deny in an identity-based policy"
            if decision.reason == "explicit deny"
            else f"because no identity-based policy allows the {action} action"
        )
        on = f" on resource: {resource}" if resource != "*" else ""
        super().__init__(f"User: {caller.arn} is not authorized to perform: {action}{on} {why}")
        self.caller, self.action, self.resource = caller, action, resource


class Unauthenticated(Exception):
    """No valid signature or no such access key (the code AWS answers: e.g. InvalidClientTokenId)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def global_backend(service: str) -> Any:
    """The account's backend of a global service (IAM, STS)."""
    from moto.backends import get_backend

    return get_backend(service)[ACCOUNT_ID]["global"]  # type: ignore[call-overload]  # a name, not a literal


def role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


class Authority:
    def __init__(self, decisions_path, enforcing: bool = True):
        self.decisions_path = decisions_path
        self.enforcing = enforcing
        self.lock = threading.Lock()
        # (role ARN, service, session, context) -> credentials, reused until 15 minutes before they expire
        # (as Lambda and ECS do).
        self.sessions: dict[tuple[str, str, str, str], dict] = {}

    # --- who calls ---------------------------------------------------------------------------------------

    def authenticate(self, method: str, uri: str, headers: dict[str, str], body: bytes) -> Caller:
        """The caller of a SigV4-signed request: its access key (an IAM user's, or STS temporary credentials with
        their session token), and the signature recomputed over the request as received (botocore's signer: the
        method, the raw path and query, the signed headers, the payload). Unauthenticated when any part fails.

        moto's own check (IAMRequest) rebuilds the request from what its dispatcher parsed, which loses a REST
        path's trailing slash and signs the headers as the payload of a GET: hence this, on the raw request."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from moto.iam.access_control import CreateAccessKeyFailure, create_access_key

        lower = {k.lower(): v for k, v in headers.items()}
        authorization = lower.get("authorization", "")
        if not authorization:
            raise Unauthenticated("MissingAuthenticationToken", "Request is missing Authentication Token")
        fields = dict(part.strip().split("=", 1) for part in authorization.partition(" ")[2].split(",") if "=" in part)
        scope = fields.get("Credential", "").split("/")
        if len(scope) != 5 or "Signature" not in fields:
            raise Unauthenticated("IncompleteSignature", "The request signature does not conform to AWS standards.")
        key_id, _date, region, service, _terminator = scope
        session_headers = (
            {"X-Amz-Security-Token": lower["x-amz-security-token"]} if "x-amz-security-token" in lower else {}
        )
        try:
            access = create_access_key(ACCOUNT_ID, "aws", key_id, session_headers)
        except CreateAccessKeyFailure as e:
            if e.reason == "InvalidToken":
                raise Unauthenticated(
                    "InvalidClientTokenId", "The security token included in the request is invalid."
                ) from None
            raise Unauthenticated(
                "InvalidClientTokenId", "The security token included in the request is invalid."
            ) from None
        signed = fields.get("SignedHeaders", "").split(";")
        request = AWSRequest(
            method=method,
            url=f"http://{lower.get('host', 'localhost')}{uri}",
            data=body,
            headers={name: lower.get(name, "") for name in signed},
        )
        request.context["timestamp"] = lower.get("x-amz-date", "")
        auth = SigV4Auth(access.create_credentials(), service, region)
        canonical = auth.canonical_request(request)
        if auth.signature(auth.string_to_sign(request, canonical), request) != fields["Signature"]:
            raise Unauthenticated(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.",
            )
        return self.caller_of_key(access.arn)

    @staticmethod
    def caller_of_key(arn: str) -> Caller:
        resource = arn.split(":", 5)[5]
        if resource.startswith("assumed-role/"):
            return Caller(arn, "role", resource.split("/")[1])
        return Caller(arn, "user", resource.rsplit("/", 1)[-1])

    @staticmethod
    def role_session(role_arn: str, session: str) -> Caller:
        return Caller(
            f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name(role_arn)}/{session}", "role", role_name(role_arn)
        )

    # --- what it may do ----------------------------------------------------------------------------------

    def policies(self, caller: Caller) -> dict[str, dict | str]:
        """The caller's identity-based policies, by a label that names each: inline ones as <kind>/<name>/<policy>,
        managed ones by their ARN (AWS managed policies with their real documents, as moto ships them)."""
        iam = global_backend("iam")
        found: dict[str, dict | str] = {}
        holders = []
        if caller.kind == "role":
            holders.append(("role", iam.get_role(caller.name)))
        else:
            holders.append(("user", iam.get_user(caller.name)))
            holders += [("group", group) for group in iam.get_groups_for_user(caller.name)]
        for kind, holder in holders:
            for name, document in holder.policies.items():
                found[f"{kind}/{holder.name}/{name}"] = document
            for arn, managed in holder.managed_policies.items():
                version = next(v for v in managed.versions if v.version_id == managed.default_version_id)
                found[arn] = version.document
        return found

    def decide(
        self, caller: Caller, action: str, resource: str, context: dict | None = None, source: str = "api"
    ) -> iam_policy.Decision:
        request = iam_policy.Request(action, resource, dict(context or {}))
        try:
            decision = iam_policy.evaluate(request, self.policies(caller))
        except Exception as e:  # a principal deleted mid-request, a policy the evaluator cannot read
            log.warning("%s %s on %s: no decision (%s): implicit deny", caller.arn, action, resource, e)
            decision = iam_policy.Decision(False, "implicit deny")
        self.record(caller, request, decision, source)
        return decision

    def require(
        self, caller: Caller, action: str, resources: list[tuple[str, dict]], source: str = "api"
    ) -> list[iam_policy.Decision]:
        """Each (resource, context) must be allowed: AWS authorizes every resource a request names."""
        decisions = []
        for resource, context in resources:
            decision = self.decide(caller, action, resource, context, source)
            if not decision.allowed and self.enforcing:
                raise Denied(caller, action, resource, decision)
            decisions.append(decision)
        return decisions

    def record(self, caller: Caller, request: iam_policy.Request, decision: iam_policy.Decision, source: str) -> None:
        line = json.dumps(
            {
                "time": round(time.time(), 3),
                "source": source,
                "principal": caller.arn,
                "kind": caller.kind,
                "name": caller.name,
                "action": request.action,
                "resource": request.resource,
                "context": request.context,
                "allowed": decision.allowed,
                "reason": decision.reason,
                "statements": list(decision.statements),
            },
            sort_keys=True,
        )
        with self.lock, open(self.decisions_path, "a") as f:
            f.write(line + "\n")
        if not decision.allowed:
            log.info("IAM %s: %s %s on %s", decision.reason, caller.arn, request.action, request.resource)

    # --- service principals ------------------------------------------------------------------------------

    def trusts(self, role, service: str, context: dict) -> bool:
        """Whether the role's trust policy lets `service` (e.g. lambda.amazonaws.com) call sts:AssumeRole with the
        condition keys the service sends: an explicit deny wins, an allow is needed."""
        request = iam_policy.Request("sts:AssumeRole", role.arn, context)
        allowed = False
        for _label, statement in iam_policy.statements("trust", role.assume_role_policy_document):
            if not iam_policy.principal_matches(statement, {"Service": service}):
                continue
            if not iam_policy.statement_applies(statement, request):
                continue
            if statement.get("Effect") == iam_policy.DENY:
                return False
            allowed = True
        return allowed

    def assume_for_service(self, role_arn: str, service: str, session: str, context: dict | None = None) -> dict:
        """Temporary credentials of `role_arn` for `service`, as STS gives them (AccessKeyId, SecretAccessKey,
        SessionToken, Expiration); RoleNotAssumable when the role is missing or its trust policy refuses."""
        from moto.iam.exceptions import NotFoundException

        # Only the condition keys an AWS page documents the service sends for that principal (none yet).
        context = dict(context or {})
        key = (role_arn, service, session, json.dumps(context, sort_keys=True))
        with self.lock:
            cached = self.sessions.get(key)
        if cached and cached["_expires"] - time.time() > 15 * 60:
            return cached
        try:
            role = global_backend("iam").get_role_by_arn(role_arn)
        except NotFoundException:
            raise RoleNotAssumable(f"The role {role_arn} does not exist") from None
        trusted = self.trusts(role, service, context)
        self.record(
            Caller(f"arn:aws:iam::{ACCOUNT_ID}:service/{service}", "service", service),
            iam_policy.Request("sts:AssumeRole", role_arn, context),
            iam_policy.Decision(trusted, "allowed" if trusted else "implicit deny", ("trust",) if trusted else ()),
            "trust",
        )
        if not trusted and self.enforcing:
            raise RoleNotAssumable(f"{service} is not allowed to assume the role {role_arn} (its trust policy)")
        assumed = global_backend("sts").assume_role(
            region_name="us-east-1",
            role_session_name=session[:64],
            role_arn=role_arn,
            policy="",
            duration=SESSION_SECONDS,
            external_id="",
        )
        credentials = {
            "AccessKeyId": assumed.access_key_id,
            "SecretAccessKey": assumed.secret_access_key,
            "SessionToken": assumed.session_token,
            "Expiration": assumed.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "RoleArn": role_arn,
            "_expires": time.time() + SESSION_SECONDS,
        }
        with self.lock:
            self.sessions[key] = credentials
        return credentials

    # --- the operator ------------------------------------------------------------------------------------

    def create_operator(self, users: list[str]) -> None:
        """The account's first identities, made before the API answers (as an account's administrator is made
        outside it): the user the sandbox's clients sign as, with AdministratorAccess; and the further users the
        account has (config.py: the project's `[tool.sandbox] users`), with no policy until someone with access
        attaches theirs. A further user's access key id is its name, the secret `<name>-secret` (the emulator's
        dummy keys)."""
        iam = global_backend("iam")
        user = iam.create_user(region_name="us-east-1", user_name=OPERATOR_USER, path="/", tags=[])
        key = iam.create_access_key(OPERATOR_USER)
        key.access_key_id, key.secret_access_key = OPERATOR_ACCESS_KEY
        iam.attach_user_policy("arn:aws:iam::aws:policy/AdministratorAccess", OPERATOR_USER)
        log.info("operator %s (access key %s)", user.arn, OPERATOR_ACCESS_KEY[0])
        for name in users:
            iam.create_user(region_name="us-east-1", user_name=name, path="/", tags=[])
            key = iam.create_access_key(name)
            # A secret unlike the key id: Ansible masks a no_log value wherever it appears, and the user's name in
            # an AccessDenied must stay readable.
            key.access_key_id, key.secret_access_key = name, f"{name}-secret"


class RoleNotAssumable(Exception):
    pass
