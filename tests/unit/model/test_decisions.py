"""The playbooks' decisions, in Python (module_utils/model/decisions.py)."""

from __future__ import annotations

import pytest

from module_utils.model.decisions import DecisionError, rollback_target, task_definition_drift

TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-prod:"


def deployment(revision: int | None, appspec: str = "{}") -> dict:
    return {
        "deployment_id": f"d-{revision}",
        "task_definition_arn": f"{TD}{revision}" if revision else None,
        "appspec_content": appspec,
    }


def test_the_rollback_target_is_the_newest_earlier_revision_not_the_one_serving():
    # 7 serves; 7 was deployed twice (a re-deploy), 6 before it.
    assert rollback_target([deployment(7), deployment(7), deployment(6), deployment(5)])["deployment_id"] == "d-6"


def appspec_readable(candidate: dict) -> bool:
    """The CodeDeploy controller's test: a deployment is redeployed from its AppSpec."""
    return bool(candidate.get("appspec_content"))


def test_a_deployment_that_cannot_be_redeployed_is_passed_over():
    history = [deployment(7), deployment(6, appspec=""), deployment(None), deployment(5)]
    assert rollback_target(history, redeployable=appspec_readable)["deployment_id"] == "d-5"
    # Without the test (the ECS controller redeploys any revision), only the one without a revision is passed over.
    assert rollback_target(history)["deployment_id"] == "d-6"
    assert rollback_target([deployment(7), deployment(None), deployment(5)])["deployment_id"] == "d-5"


def test_the_revision_serving_is_never_the_target_even_when_it_is_not_the_newest_success():
    # 6 serves (a rollback to it went through another controller, or the newest success was replaced since).
    history = [deployment(7), deployment(6), deployment(6), deployment(5)]
    assert rollback_target(history, serving=f"{TD}6")["deployment_id"] == "d-7"
    assert rollback_target(history, serving=f"{TD}7")["deployment_id"] == "d-6"
    # A revision outside the history serves: the newest successful deployment is the target.
    assert rollback_target(history, serving=f"{TD}9")["deployment_id"] == "d-7"
    # Unknown (None or empty): the newest successful deployment's revision is taken as the one serving.
    assert rollback_target(history, serving=None)["deployment_id"] == "d-6"
    assert rollback_target(history, serving="")["deployment_id"] == "d-6"


def test_redeployable_decides_which_deployments_can_be_targets():
    history = [deployment(7), deployment(6), deployment(5, appspec="{}"), deployment(4)]
    asked = []

    def readable(candidate: dict) -> bool:
        asked.append(candidate["deployment_id"])
        return candidate["deployment_id"] != "d-6"

    assert rollback_target(history, redeployable=readable)["deployment_id"] == "d-5"
    # Only the candidates are asked about: never the serving revision, and nothing after the target.
    assert asked == ["d-6", "d-5"]
    assert rollback_target(history, f"{TD}5", readable)["deployment_id"] == "d-7"
    with pytest.raises(DecisionError, match=f"No earlier successful revision than {TD}7 among the last 4"):
        rollback_target(history, redeployable=lambda _: False)


@pytest.mark.parametrize(
    ("history", "says"),
    [
        ([], "no successful deployment"),
        ([deployment(7)], f"No earlier successful revision than {TD}7 among the last 1"),
        ([deployment(7), deployment(7)], "nothing to roll back to"),
    ],
)
def test_no_target_is_an_error_that_says_why(history, says):
    with pytest.raises(DecisionError, match=says):
        rollback_target(history)


SERVING = {
    "cpu": "256",
    "memory": "512",
    "container_definitions": [
        {
            "image": "registry/orders:1.4.2",
            "environment": [
                {"name": "LOG_LEVEL", "value": "INFO"},
                {"name": "APP_VERSION", "value": "1.4.2"},
                {"name": "PORT", "value": "8000"},
            ],
            "secrets": [{"name": "API_TOKEN", "value_from": "arn:secret:token-AbCdEf"}],
        }
    ],
}
WANTED = {
    "cpu": 256,
    "memory": 512,
    "image_repository": "registry/orders",
    "environment": {"LOG_LEVEL": "INFO"},
    "secrets": {"API_TOKEN": "arn:secret:token-AbCdEf"},
}


def test_an_inventory_that_matches_what_serves_has_no_drift():
    # APP_VERSION and PORT come from the image tag and the container port, never from the inventory.
    assert task_definition_drift(SERVING, WANTED) == []


@pytest.mark.parametrize(
    ("change", "drift"),
    [
        ({"cpu": 512}, ["cpu"]),
        ({"memory": "1024"}, ["memory"]),
        ({"image_repository": "registry/orders-v2"}, ["image repository"]),
        ({"image_repository": "registry/order"}, ["image repository"]),
        ({"environment": {"LOG_LEVEL": "DEBUG"}}, ["environment"]),
        ({"environment": {"LOG_LEVEL": "INFO", "NEW": "1"}}, ["environment"]),
        ({"secrets": {}}, ["secrets"]),
        ({"cpu": 512, "secrets": {"API_TOKEN": "arn:secret:other-XyZaBc"}}, ["cpu", "secrets"]),
    ],
)
def test_each_difference_is_named(change, drift):
    assert task_definition_drift(SERVING, {**WANTED, **change}) == drift


def test_a_service_without_a_readable_task_definition_differs_in_everything():
    assert task_definition_drift({}, WANTED) == ["cpu", "memory", "image repository", "environment", "secrets"]
