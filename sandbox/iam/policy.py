"""IAM policy evaluation within one account, as AWS documents it: the decision for one request (principal,
action, resource, request context) from the principal's identity-based policies and, where the resource has
one, its resource-based policy.

moto's enforcement (`INITIAL_NO_AUTH_ACTION_COUNT`) checks actions only - its source says it ignores the Resource
and Condition elements - and no well-kept Python library evaluates them (the maintained simulator,
@cloud-copilot/iam-simulate, is a Node library, too slow to call per request), hence this module. It follows
the IAM User Guide: "Policy evaluation logic" (an explicit deny wins; otherwise an allow is needed; otherwise the
request is implicitly denied), "IAM JSON policy elements" (Action / NotAction matched without regard to case
with the * and ? wildcards; Resource / NotResource matched with case, ARNs component by component) and
"Condition operators" (the operators below; a key missing from the request makes a condition false, except the
negated operators, ...IfExists and Null; several values of one key are OR-ed, several keys and several
operators AND-ed). Tested with the guide's examples: tests/unit/sandbox/test_iam_policy.py.

Policy variables (IAM User Guide, "IAM policy elements: Variables and tags") in Resource and NotResource:
`${key}` is replaced by the request context's value of the key; when the request has no value for it, the
element matches nothing. The project uses `${aws:username}` (an operator simulating its own policy).

Not modelled (the project uses none of them): policy variables in conditions, NotPrincipal, permissions
boundaries, session policies, SCPs/RCPs, cross-account requests, and the numeric, date, IP address and binary operators.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

ALLOW, DENY = "Allow", "Deny"


@dataclass(frozen=True)
class Request:
    action: str  # service:Action, e.g. ecs:RunTask
    resource: str  # an ARN, or "*" for an action that supports no resource type
    context: dict[str, str | list[str]] = field(default_factory=dict)  # condition key -> value(s)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "explicit deny", "allowed", "implicit deny"
    statements: tuple[str, ...] = ()  # the deciding statements: "<policy>#<Sid or index>"


class PolicyError(ValueError):
    """A policy document this module cannot evaluate; the message names the element."""


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, case: bool) -> bool:
    """IAM's * (any run of characters, none included) and ? (any one character); nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE | re.DOTALL) is not None


def action_matches(pattern: str, action: str) -> bool:
    return pattern == "*" or _wildcard(pattern, action, case=False)


def arn_matches(pattern: str, arn: str) -> bool:
    """A Resource element or ArnLike value against an ARN: the six colon-delimited parts matched one by one
    (the resource part may itself contain colons); * alone matches everything."""
    if pattern == "*":
        return True
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return _wildcard(pattern, arn, case=True)
    return all(_wildcard(w, a, case=True) for w, a in zip(wanted, actual, strict=True))


# --- conditions ----------------------------------------------------------------------------------------------


def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_equals_ignore_case(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _string_like(policy: str, value: str) -> bool:
    return _wildcard(policy, value, case=True)


def _arn_equals(policy: str, value: str) -> bool:
    # ArnEquals takes wildcards as ArnLike does (the guide: "ArnEquals, ArnLike ... case-sensitive matching of
    # the ARN. Each of the six colon-delimited components of the ARN is checked separately and each can include
    # multi-character match wildcards (*) or single-character match wildcards (?)").
    return arn_matches(policy, value)


def _bool(policy: str, value: str) -> bool:
    return str(policy).lower() == str(value).lower()


_MATCHERS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_arn_equals, False),
    "ArnLike": (_arn_equals, False),
    "ArnNotEquals": (_arn_equals, True),
    "ArnNotLike": (_arn_equals, True),
    "Bool": (_bool, False),
}


def condition_holds(operator: str, key: str, policy_values, context: dict) -> bool:
    """One operator on one key (the policy's values OR-ed), against the request context."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base[: -len("IfExists")]
    values = [str(v) for v in _as_list(policy_values)]
    present = key.lower() in {k.lower() for k in context}
    if base == "Null":
        # Null: true means the key must be absent, false that it must be present.
        return any((v.lower() == "true") == (not present) for v in values)
    if base not in _MATCHERS:
        raise PolicyError(f"condition operator {operator} is not supported by the sandbox's evaluator")
    match, negated = _MATCHERS[base]
    if not present:
        # ForAllValues holds for an absent (empty) key, as the guide warns; the others as described above.
        return if_exists or negated or qualifier == "ForAllValues"
    actual = next(v for k, v in context.items() if k.lower() == key.lower())
    actuals = [str(v) for v in _as_list(actual)]
    if qualifier == "ForAllValues":
        found = all(any(match(p, a) for p in values) for a in actuals)
    elif qualifier == "ForAnyValue" or not qualifier:
        found = any(match(p, a) for p in values for a in actuals)
    else:
        raise PolicyError(f"condition qualifier {qualifier} is not an IAM qualifier")
    return not found if negated else found


def conditions_hold(condition: dict | None, context: dict) -> bool:
    return all(
        condition_holds(operator, key, values, context)
        for operator, keys in (condition or {}).items()
        for key, values in keys.items()
    )


# --- statements and policies ---------------------------------------------------------------------------------


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _substitute(pattern: str, context: dict) -> str | None:
    """A Resource element with its policy variables replaced from the request context; None when one is missing
    (the element then matches nothing)."""
    missing = False

    def value(match: re.Match) -> str:
        nonlocal missing
        found = context.get(match.group(1))
        if isinstance(found, list) and len(found) == 1:  # a simulation's ContextKeyValues
            found = found[0]
        if not isinstance(found, str):
            missing = True
            return ""
        return found

    result = _VARIABLE.sub(value, pattern)
    return None if missing else result


def _resource_matches(pattern: str, request: Request) -> bool:
    if "${" in pattern:
        substituted = _substitute(pattern, request.context)
        return substituted is not None and arn_matches(substituted, request.resource)
    return arn_matches(pattern, request.resource)


def statement_applies(statement: dict, request: Request) -> bool:
    if "Action" in statement:
        if not any(action_matches(p, request.action) for p in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(action_matches(p, request.action) for p in _as_list(statement["NotAction"])):
            return False
    else:
        raise PolicyError("a statement needs Action or NotAction")
    if "Resource" in statement:
        if not any(_resource_matches(p, request) for p in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(_resource_matches(p, request) for p in _as_list(statement["NotResource"])):
            return False
    elif "Principal" not in statement:  # a resource-based policy's statement may omit Resource
        raise PolicyError("an identity-based statement needs Resource or NotResource")
    return conditions_hold(statement.get("Condition"), request.context)


def statements(name: str, document: dict | str) -> Iterable[tuple[str, dict]]:
    """(label, statement) for each statement of a policy document (JSON text or parsed)."""
    parsed = json.loads(document) if isinstance(document, str) else document
    for index, statement in enumerate(_as_list(parsed.get("Statement", []))):
        yield f"{name}#{statement.get('Sid') or index}", statement


def evaluate(request: Request, policies: dict[str, dict | str]) -> Decision:
    """The decision for `request` given the caller's policies (name -> document) in one account."""
    allowed: list[str] = []
    denied: list[str] = []
    for name, document in policies.items():
        for label, statement in statements(name, document):
            if statement_applies(statement, request):
                (denied if statement.get("Effect") == DENY else allowed).append(label)
    if denied:
        return Decision(False, "explicit deny", tuple(denied))
    if allowed:
        return Decision(True, "allowed", tuple(allowed))
    return Decision(False, "implicit deny")


def missing_context_keys(request: Request, policies: dict[str, dict | str]) -> set[str]:
    """The condition keys of statements that match the request's action and resource but name a key the request
    context lacks (what SimulatePrincipalPolicy reports as MissingContextValues)."""
    present = {key.lower() for key in request.context}
    missing: set[str] = set()
    for name, document in policies.items():
        for _label, statement in statements(name, document):
            unconditioned = {k: v for k, v in statement.items() if k != "Condition"}
            if "Principal" in statement or not statement_applies(
                unconditioned, Request(request.action, request.resource)
            ):
                continue
            for keys in (statement.get("Condition") or {}).values():
                missing.update(key for key in keys if key.lower() not in present)
    return missing


def principal_matches(statement: dict, principal: dict[str, str]) -> bool:
    """A resource-based (e.g. trust) policy's Principal against the caller ({"Service": ...} or {"AWS": arn})."""
    wanted = statement.get("Principal")
    if wanted == "*":
        return True
    if not isinstance(wanted, dict):
        return False
    return any(
        value in _as_list(wanted.get(kind, [])) or "*" in _as_list(wanted.get(kind, []))
        for kind, value in principal.items()
    )


# SimulatePrincipalPolicy's decisions (API reference, EvaluationResult), least strict first.
SIMULATION_DECISIONS = {"allowed": "allowed", "implicit deny": "implicitDeny", "explicit deny": "explicitDeny"}


def simulation_results(
    actions: list[str],
    resources: list[str],
    context: dict,
    policies: dict[str, dict | str],
    *,
    source_types: dict[str, str],
    arn_template: Callable[[str], str],
) -> list[dict]:
    """SimulatePrincipalPolicy's EvaluationResults, as the API reference's EvaluationResult describes them: one per
    action, whatever the number of resources. Its EvalDecision is the strictest of its resources' (explicitDeny,
    then implicitDeny, then allowed); its MatchedStatements those of the resources that decided it; its
    MissingContextValues those of every resource; its EvalResourceName the action's ARN template (`arn_template`,
    "*" for an action without one), never a requested ARN. The decision on each requested ARN is in
    ResourceSpecificResults; for "*" alone (ResourceArns ["*"] or none) there are none, and the missing context
    values are the result's own. `source_types`: policy id -> SourcePolicyType."""
    strictness = {decision: rank for rank, decision in enumerate(SIMULATION_DECISIONS.values())}
    policies = {name: json.loads(d) if isinstance(d, str) else d for name, d in policies.items()}  # parsed once

    def matched(labels: Iterable[str]) -> list[dict]:
        return [
            {"SourcePolicyId": label.rsplit("#", 1)[0], "SourcePolicyType": source_types[label.rsplit("#", 1)[0]]}
            for label in dict.fromkeys(labels)
        ]

    results = []
    for action in actions:
        specific: list[dict] = []
        for resource in resources or ["*"]:
            request = Request(action, resource, context)
            decision = evaluate(request, policies)
            specific.append(
                {
                    "EvalResourceName": resource,
                    "EvalResourceDecision": SIMULATION_DECISIONS[decision.reason],
                    "MatchedStatements": list(decision.statements),
                    "MissingContextValues": sorted(missing_context_keys(request, policies)),
                }
            )
        overall = max((s["EvalResourceDecision"] for s in specific), key=strictness.__getitem__)
        deciding = [label for s in specific if s["EvalResourceDecision"] == overall for label in s["MatchedStatements"]]

        result = {
            "EvalActionName": action,
            "EvalResourceName": arn_template(action),
            "EvalDecision": overall,
            "MatchedStatements": matched(deciding),
            "MissingContextValues": sorted({key for s in specific for key in s["MissingContextValues"]}),
        }
        if resources and resources != ["*"]:
            result["ResourceSpecificResults"] = [
                {**s, "MatchedStatements": matched(s["MatchedStatements"])} for s in specific
            ]
        results.append(result)
    return results
