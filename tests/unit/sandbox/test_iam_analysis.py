"""The least-privilege analysis (sandbox/drivers/iam_analysis.py): which statement was the only grant of a call."""

from __future__ import annotations

from sandbox.drivers.iam_analysis import holder_of, needs, unneeded

ROLE = "orders-local-hooks"
POLICY = "arn:aws:iam::123456789012:policy/orders-local-deploy"
OTHER = "arn:aws:iam::123456789012:policy/orders-tls-deploy"
HOLDERS = {
    ROLE: [{"Sid": "ReadTheAppSpec", "Action": ["codedeploy:GetApplicationRevision"], "Resource": ["x"]}],
    "orders-local-deploy": [
        {"Sid": "DeploymentTargets", "Action": ["codedeploy:ListDeploymentTargets"], "Resource": "*"},
        {"Sid": "Deploy", "Action": ["codedeploy:CreateDeployment", "codedeploy:GetDeployment"], "Resource": ["y"]},
    ],
}


def decision(action: str, *labels: str, allowed: bool = True) -> dict:
    return {
        "time": 1.0,
        "source": "api",
        "action": action,
        "resource": "*",
        "allowed": allowed,
        "statements": list(labels),
    }


def test_the_holder_of_a_statement_is_its_role_or_its_managed_policy():
    assert holder_of(f"role/{ROLE}/least-privilege#ReadTheAppSpec") == ROLE
    assert holder_of(f"{POLICY}#Deploy") == "orders-local-deploy"
    assert holder_of("arn:aws:iam::aws:policy/AdministratorAccess#0") is None  # AWS managed: not the project's


def test_only_a_sole_grant_among_the_analysed_holders_counts():
    found = needs(
        [
            decision("codedeploy:GetApplicationRevision", f"role/{ROLE}/least-privilege#ReadTheAppSpec"),
            # Another environment's copy of the statement allowed it too: still this environment's only grant.
            decision("codedeploy:ListDeploymentTargets", f"{POLICY}#DeploymentTargets", f"{OTHER}#DeploymentTargets"),
            # Two statements of the analysed policy: neither alone was needed.
            decision("codedeploy:CreateDeployment", f"{POLICY}#Deploy", f"{POLICY}#DeploymentTargets"),
            decision("codedeploy:GetDeployment", f"{POLICY}#Deploy", allowed=False),  # refused: needs nothing
            decision("sts:AssumeRole", "trust"),  # a trust policy's decision
        ],
        HOLDERS,
    )
    assert set(found) == {
        (ROLE, "ReadTheAppSpec", "codedeploy:GetApplicationRevision"),
        ("orders-local-deploy", "DeploymentTargets", "codedeploy:ListDeploymentTargets"),
    }
    assert unneeded(HOLDERS, found) == [
        ("orders-local-deploy", "Deploy", "codedeploy:CreateDeployment"),
        ("orders-local-deploy", "Deploy", "codedeploy:GetDeployment"),
    ]
