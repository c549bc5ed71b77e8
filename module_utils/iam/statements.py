"""The shape of what the project writes: an Allow statement, a PassRole statement, a role's trust policy."""

from __future__ import annotations


def statement(sid: str, actions: list[str], resources: list[str] | str, condition: dict | None = None) -> dict:
    found: dict = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        found["Condition"] = condition
    return found


def pass_role(sid: str, roles: list[str], principal: str) -> dict:
    """iam:PassRole on `roles`, to the one service `principal` only."""
    return statement(sid, ["iam:PassRole"], roles, {"StringEquals": {"iam:PassedToService": principal}})


def trust_policy(principal: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
    }
