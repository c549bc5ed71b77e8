"""Is every statement needed? From the sandbox's record of every authorization decision (logs/iam-decisions.jsonl),
which statement, and which action of a statement, of each role and each operator policy the project writes would
have been missed: a decision allowed by that statement alone would have been an AccessDenied without it.

    python -m sandbox.drivers.iam_analysis DECISIONS.jsonl [SCENARIOS.jsonl]  # the table, app `orders` env `local`

The end-to-end run records which scenario ran when (tests/e2e/conftest.py), so each needed statement is
attributed to the first scenario and call that needed it. tests/e2e/test_teardown.py fails on a statement nothing
needed unless module_utils/iam/ says which AWS path needs it that the sandbox cannot exercise
(UNEXERCISED); tests/e2e/test_iam.py removes one needed statement per principal and checks that the predicted
call is refused.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox.iam.policy import action_matches


@dataclass(frozen=True)
class Need:
    role: str  # the role's name, or the operator policy's
    sid: str
    action: str  # the statement's action (as written)
    call: str  # the action the call was authorized for
    resource: str
    source: str  # api, codedeploy, lambda, ecs-agent
    scenario: str  # the e2e scenario that ran then ("" when unknown)


def read(path: Path | str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def scenario_at(timeline: list[dict], moment: float) -> str:
    for entry in timeline:
        if entry["start"] <= moment <= entry.get("end", float("inf")):
            return entry["test"]
    return ""


def holder_of(label: str) -> str | None:
    """The holder of a statement's label: a role's inline policy (`role/<role>/<policy>#Sid`) -> the role's name;
    a customer managed policy (`arn:aws:iam::<account>:policy/<name>#Sid`) -> the policy's name."""
    policy = label.rsplit("#", 1)[0]
    if policy.startswith("role/"):
        return policy.split("/")[1]
    if policy.startswith("arn:aws:iam::") and ":policy/" in policy and not policy.startswith("arn:aws:iam::aws:"):
        return policy.rsplit("/", 1)[1]
    return None


def needs(decisions: list[dict], holders: dict[str, list[dict]], timeline: list[dict] | None = None) -> dict:
    """(holder, Sid, action as written) -> the first Need, for the holders given: a role the project writes (its
    name -> its statements) or an operator policy (its name -> its statements)."""
    found: dict[tuple[str, str, str], Need] = {}
    by_sid = {name: {s["Sid"]: s for s in statements} for name, statements in holders.items()}
    for decision in decisions:
        if not decision.get("allowed"):
            continue
        # The statements of the holders analysed that allowed it (a trust policy's decision has none; another
        # environment's operator policy, attached to the same sandbox user, is not this environment's grant).
        labels = [label for label in decision["statements"] if "#" in label and holder_of(label) in holders]
        if len(labels) != 1:
            continue  # not one of these, or two of these: neither alone was needed
        label = labels[0]
        name = holder_of(label)
        statement = by_sid.get(name or "", {}).get(label.rsplit("#", 1)[1])
        if name is None or statement is None:
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            if action_matches(action, decision["action"]) and (name, statement["Sid"], action) not in found:
                found[(name, statement["Sid"], action)] = Need(
                    name,
                    statement["Sid"],
                    action,
                    decision["action"],
                    decision["resource"],
                    decision["source"],
                    scenario_at(timeline or [], decision["time"]),
                )
    return found


def unneeded(roles: dict[str, list[dict]], found: dict) -> list[tuple[str, str, str]]:
    """(role name, Sid, action) of every action of every statement nothing needed."""
    missing = []
    for name, statements in roles.items():
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            missing += [(name, statement["Sid"], a) for a in actions if (name, statement["Sid"], a) not in found]
    return missing


def table(roles: dict[str, list[dict]], found: dict) -> str:
    lines = ["| role | Sid | action | first needed by | call (resource) |", "|---|---|---|---|---|"]
    for name, statements in roles.items():
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                need = found.get((name, statement["Sid"], action))
                if need is None:
                    lines.append(f"| {name} | {statement['Sid']} | {action} | **nothing** | |")
                else:
                    where = need.scenario.rsplit("::", 1)[-1] or need.source
                    call = f"{need.call} ({need.resource})"
                    lines.append(f"| {name} | {statement['Sid']} | {action} | {where} | {call} |")
    return "\n".join(lines)


def project_roles(
    service: str | None = None, env: str = "local", controller: str = "codedeploy", **facts
) -> dict[str, list[dict]]:
    """The roles provision writes for an environment of app `orders` (role name -> statements), from the model."""
    from module_utils.iam import role_policies
    from module_utils.model.names import names

    defaults = {"partition": "aws", "account": "123456789012", "region": "eu-west-1"}
    policies = role_policies(names("orders", env, service), controller=controller, **{**defaults, **facts})
    return {role["name"]: role["statements"] for role in policies.values() if role["statements"]}


def project_operator_policies(env: str = "local", controller: str = "codedeploy", **facts) -> dict[str, list[dict]]:
    """The operator policies of an environment of app `orders` (policy name -> statements), from the model."""
    from module_utils.iam import operator_policies
    from module_utils.model.names import names

    defaults = {"partition": "aws", "account": "123456789012", "region": "eu-west-1"}
    policies = operator_policies(names("orders", env), controller=controller, **{**defaults, **facts})["policies"]
    return {policy["name"]: policy["statements"] for policy in policies.values()}


def main(argv: list[str]) -> None:
    decisions = read(argv[0])
    timeline = read(argv[1]) if len(argv) > 1 else []
    holders = {
        **project_roles(secret_arns=["arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-local/x"]),
        **project_operator_policies(),
    }
    print(table(holders, needs(decisions, holders, timeline)))


if __name__ == "__main__":
    main(sys.argv[1:])
