"""iam:SimulatePrincipalPolicy for a principal's statements, in few requests: IAM's API is account-wide and
throttled, and a request evaluates each of its ActionNames on each of its ResourceArns.

The statements whose conditions give the same ContextEntries share a request: their actions and their resources
together. Each statement then reads only its own action-resource pairs from the answer (the others, an action on
another statement's resource, are evaluated and ignored), so each action is simulated with exactly the context its
statement gives, as if it had a request of its own. A resource of "*" (an action without resource types) has a
request of its own, as "*" stands for every resource rather than being one.

AWS answers one EvaluationResult per action: its EvalDecision is the strictest over the request's resources and
its EvalResourceName an ARN template; the decision on each resource is in ResourceSpecificResults (API reference,
EvaluationResult). An answer without them (one result per action and resource, as AWS answered before) is read by
each result's EvalResourceName.
"""

from __future__ import annotations

import json

ALLOWED = "allowed"
# The decisions, least strict first: an action's overall decision is the strictest of its resources'.
_STRICTNESS = [ALLOWED, "implicitDeny", "explicitDeny"]


def _context_entries(condition: dict) -> list[dict]:
    """The ContextEntries a statement's condition needs: the simulator otherwise leaves a conditioned statement
    unmatched (MissingContextValues) and reports a false denial. The values are the condition's own, so this
    asks "is what the deployment does, with these values, allowed"."""
    entries = {}
    for operator, keys in condition.items():
        for key, given in keys.items():
            values = given if isinstance(given, list) else [given]
            kind = "boolean" if operator == "Bool" else "string"
            entries[key] = {
                "ContextKeyName": key,
                "ContextKeyValues": [str(v) for v in values],
                "ContextKeyType": kind + ("List" if len(values) > 1 else ""),
            }
    return list(entries.values())


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _needs(statement: dict, variables: dict) -> tuple[list[str], list[str], list[dict]]:
    """A statement's actions, its resources (policy variables replaced by their values) and its context."""
    resources = _as_list(statement["Resource"])
    for key, value in variables.items():
        resources = [r.replace("${" + key + "}", value) for r in resources]
    context = _context_entries(statement.get("Condition") or {})
    context += [
        {"ContextKeyName": key, "ContextKeyValues": [value], "ContextKeyType": "string"}
        for key, value in variables.items()
    ]
    return _as_list(statement["Action"]), resources, context


def _request_key(context: list[dict], resource: str) -> tuple[str, bool]:
    return json.dumps(context, sort_keys=True), resource == "*"


def requests(statements: list[dict], variables: dict | None = None) -> dict[tuple[str, bool], dict]:
    """The SimulatePrincipalPolicy requests (ActionNames, ResourceArns, ContextEntries) that cover the statements,
    in the order the statements need them, by their context and whether their resource is "*"."""
    batched: dict[tuple[str, bool], dict] = {}
    for statement in statements:
        actions, resources, context = _needs(statement, variables or {})
        for resource in resources:
            request = batched.setdefault(
                _request_key(context, resource), {"ActionNames": [], "ResourceArns": [], "ContextEntries": context}
            )
            request["ActionNames"] += [a for a in actions if a not in request["ActionNames"]]
            if resource not in request["ResourceArns"]:
                request["ResourceArns"].append(resource)
    return batched


def decisions(results: list[dict]) -> dict[tuple[str, str], str]:
    """(action, resource) -> decision, from a request's EvaluationResults; (action, "") is the action's overall
    decision. IAM's action names are not case sensitive: the keys are lower case."""
    found: dict[tuple[str, str], str] = {}
    for result in results:
        action = result["EvalActionName"].lower()
        overall = found.get((action, ""), ALLOWED)
        found[action, ""] = max(overall, result["EvalDecision"], key=_strictness)
        for specific in result.get("ResourceSpecificResults") or []:
            found[action, specific["EvalResourceName"]] = specific["EvalResourceDecision"]
        if not result.get("ResourceSpecificResults"):
            found[action, result.get("EvalResourceName") or "*"] = result["EvalDecision"]
    return found


def _strictness(decision: str) -> int:
    return _STRICTNESS.index(decision) if decision in _STRICTNESS else len(_STRICTNESS)


def denials(iam, principal: str, statements: list[dict], variables: dict | None = None) -> list[str]:
    """Each statement's actions on its resources, simulated for the principal: the denied ones, each as
    "<action> on <resource> (<Sid>: <decision>)", in the order of the statements, their actions and resources.
    AWS's errors (NoSuchEntity, AccessDenied) are raised."""
    variables = variables or {}
    answers: dict[tuple[str, bool], dict[tuple[str, str], str]] = {}
    for key, request in requests(statements, variables).items():
        pages = iam.get_paginator("simulate_principal_policy").paginate(PolicySourceArn=principal, **request)
        answers[key] = decisions([r for page in pages for r in page["EvaluationResults"]])
    denied = []
    for statement in statements:
        actions, resources, context = _needs(statement, variables)
        for action in actions:
            for resource in resources:
                answer = answers[_request_key(context, resource)]
                # Without a result for the pair, the action's strictest decision (never a pass it was not given).
                decision = answer.get((action.lower(), resource)) or answer.get((action.lower(), ""), "no result")
                if decision != ALLOWED:
                    denied.append(f"{action} on {resource} ({statement.get('Sid', '')}: {decision})")
    return denied
