"""The fidelity ledger names real operations, points at tests that exist, and its tooling reads botocore."""

from __future__ import annotations

import re

import botocore.session

from sandbox.drivers import ledger
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
