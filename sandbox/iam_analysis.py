"""Is every statement needed? From the sandbox's record of every authorization decision (logs/iam-decisions.jsonl),
which statement, and which action of a statement, of each role the project writes would have been missed: a
decision allowed by that statement alone would have been an AccessDenied without it.

    python -m sandbox.iam_analysis DECISIONS.jsonl [SCENARIOS.jsonl]    # the table, for app `orders` env `local`

The end-to-end run records which scenario ran when (tests/e2e/conftest.py), so each needed statement is
attributed to the first scenario and call that needed it. tests/e2e/test_teardown.py fails on a statement nothing
needed unless module_utils/bluegreen_iam.py says which AWS path needs it that the sandbox cannot exercise
(UNEXERCISED); tests/e2e/test_iam.py removes one needed statement per principal and checks that the predicted
call is refused.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox.iam_policy import action_matches


@dataclass(frozen=True)
class Need:
    role: str  # the role's name
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


def needs(decisions: list[dict], roles: dict[str, list[dict]], timeline: list[dict] | None = None) -> dict:
    """(role name, Sid, action as written) -> the first Need, for the roles given (role name -> statements)."""
    found: dict[tuple[str, str, str], Need] = {}
    by_sid = {name: {s["Sid"]: s for s in statements} for name, statements in roles.items()}
    for decision in decisions:
        name = decision.get("name")
        if decision.get("kind") != "role" or name not in roles or not decision.get("allowed"):
            continue
        if len(decision["statements"]) != 1:
            continue  # allowed by two statements: neither alone was needed
        label = decision["statements"][0]
        sid = label.rsplit("#", 1)[1]
        statement = by_sid[name].get(sid)
        if statement is None or not label.startswith(f"role/{name}/"):
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            if action_matches(action, decision["action"]) and (name, sid, action) not in found:
                found[(name, sid, action)] = Need(
                    name,
                    sid,
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


def project_roles(service: str | None = None, **facts) -> dict[str, list[dict]]:
    """The roles provision writes for inventories/local (role name -> statements), from the model."""
    from module_utils.bluegreen_iam import role_policies
    from module_utils.bluegreen_model import names

    defaults = {"partition": "aws", "account": "123456789012", "region": "eu-west-1"}
    policies = role_policies(names("orders", "local", service), **{**defaults, **facts})
    return {role["name"]: role["statements"] for role in policies.values() if role["statements"]}


def main(argv: list[str]) -> None:
    decisions = read(argv[0])
    timeline = read(argv[1]) if len(argv) > 1 else []
    roles = project_roles(secret_arns=["arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-local/x"])
    print(table(roles, needs(decisions, roles, timeline)))


if __name__ == "__main__":
    main(sys.argv[1:])
