"""bluegreen_deployment_info: a service's deployments, newest first, in one shape whichever controller runs them
(the shape bluegreen_deployment returns), with status filters."""

from __future__ import annotations

import bluegreen_deployment_info as module
import pytest

from tests.unit.library.fake_aws import CLUSTER, ECS_ARN, ECS_LINEAR, NEW_TD, OLD_TD, SERVICE, FakeCodeDeploy, FakeEcs

CODEDEPLOY = {
    "controller": "codedeploy",
    "names": {"name": "orders-prod", "codedeploy_application": "orders", "deployment_group": "orders-prod"},
}
ECS = {"controller": "ecs", "names": {"name": SERVICE, "cluster": CLUSTER, "ecs_service": SERVICE}}
# The keys every controller's deployment has (library/bluegreen_deployment.py RETURN deployment).
NEUTRAL = {"deployment_id", "status", "state", "task_definition_arn", "created", "at", "reason", "traffic", "timings"}


@pytest.fixture
def codedeploy(clock) -> FakeCodeDeploy:
    fake = FakeCodeDeploy(clock)
    clock.now = 100.0
    for index, (status, weights) in enumerate(
        [("Succeeded", (0, 100)), ("Failed", (100, 0)), ("InProgress", (70, 30))]
    ):
        fake.add(
            f"d-{index}",
            [(0.0, {"status": status, "weights": weights})],
            sha256=f"rev-{index}",
            createTime=fake.clock.at(index * 10),
        )
    return fake


@pytest.fixture
def ecs(clock) -> FakeEcs:
    return FakeEcs(clock)


# -- CodeDeploy -----------------------------------------------------------------------------------------------------


def test_latest_deployments_of_a_group_newest_first(run_module, codedeploy) -> None:
    result = run_module(module, {**CODEDEPLOY, "max_results": 2}, {"codedeploy": codedeploy})
    assert not result.failed, result.get("msg")
    assert [d["deployment_id"] for d in result["deployments"]] == ["d-2", "d-1"]
    assert [d["state"] for d in result["deployments"]] == ["active", "failed"]
    assert result["deployments"][0]["traffic"] == {"original": 70.0, "replacement": 30.0}
    assert len(result["deployments"][0]["lifecycle_events"]) == 8
    assert result["deployment_group"]["deployment_group_name"] == "orders-prod"


def test_active_filter_expands_to_the_active_statuses(run_module, codedeploy) -> None:
    result = run_module(module, {**CODEDEPLOY, "statuses": ["active"]}, {"codedeploy": codedeploy})
    assert [d["deployment_id"] for d in result["deployments"]] == ["d-2"]
    listed = codedeploy.called("ListDeployments")
    assert all(c["includeOnlyStatuses"] == ["Baking", "Created", "InProgress", "Queued", "Ready"] for c in listed)
    # Fewer than max_results in each window of creation time: widened until all time (no createTimeRange).
    assert [("createTimeRange" in c) for c in listed] == [True, True, True, True, False]


def test_succeeded_filter_says_what_serves(run_module, codedeploy) -> None:
    content = (
        '{"Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": "td:7"}}}]}'
    )
    codedeploy.revisions["d-0"]["appSpecContent"]["content"] = content
    result = run_module(module, {**CODEDEPLOY, "statuses": ["succeeded"]}, {"codedeploy": codedeploy})
    assert [(d["deployment_id"], d["state"]) for d in result["deployments"]] == [("d-0", "succeeded")]
    assert result["serving"] == "td:7"
    assert codedeploy.called("ListDeployments")[-1]["includeOnlyStatuses"] == ["Succeeded"]


def test_one_deployment_by_id_without_targets(run_module, codedeploy) -> None:
    result = run_module(module, {**CODEDEPLOY, "deployment_id": "d-1", "details": False}, {"codedeploy": codedeploy})
    (deployment,) = result["deployments"]
    assert (deployment["deployment_id"], deployment["status"], deployment["lifecycle_events"]) == ("d-1", "Failed", [])
    assert codedeploy.called("ListDeploymentTargets") == []


def test_unknown_deployment_is_a_clear_error(run_module, codedeploy) -> None:
    result = run_module(module, {**CODEDEPLOY, "deployment_id": "d-NOPE"}, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"] == "Deployment d-NOPE does not exist"


def test_a_missing_group_says_to_provision(run_module, codedeploy) -> None:
    codedeploy.group_exists = False
    result = run_module(module, CODEDEPLOY, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"] == (
        "Deployment group orders-prod of application orders does not exist: provision the environment first"
    )


# -- ECS ------------------------------------------------------------------------------------------------------------


def test_the_history_newest_first_with_each_task_definition(run_module, ecs, clock) -> None:
    ecs.add(f"{ECS_ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0", OLD_TD, ECS_LINEAR, started=-500)
    ecs.add(f"{ECS_ARN}:service-deployment/{CLUSTER}/{SERVICE}/D1", NEW_TD, ECS_LINEAR)
    clock.now = 20.0
    result = run_module(module, ECS, {"ecs": ecs})
    assert not result.failed, result.get("msg")
    assert [d["service_deployment_arn"].rsplit("/", 1)[-1] for d in result["deployments"]] == ["D1", "D0"]
    assert [d["task_definition_arn"] for d in result["deployments"]] == [NEW_TD, OLD_TD]
    assert [d["status"] for d in result["deployments"]] == ["IN_PROGRESS", "SUCCESSFUL"]
    assert [d["state"] for d in result["deployments"]] == ["active", "succeeded"]
    assert result["service"]["controller"] == "ECS"
    assert result["service"]["strategy"] == "LINEAR"
    assert result["serving"] == OLD_TD
    active = run_module(module, {**ECS, "statuses": ["active"]}, {"ecs": ecs})
    assert [d["status"] for d in active["deployments"]] == ["IN_PROGRESS"]
    assert ecs.called("ListServiceDeployments")[-1]["status"] == sorted(
        ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
    )
    one = run_module(
        module, {**ECS, "deployment_id": f"{ECS_ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0"}, {"ecs": ecs}
    )
    assert [d["task_definition_arn"] for d in one["deployments"]] == [OLD_TD]


def test_the_newest_deployments_whatever_order_and_pages_ecs_answers_in(run_module, ecs) -> None:
    """The rollback takes the first successful deployment of another task definition from this history, the status
    playbook its first as the latest: both need the newest first, from every page."""
    arns = ecs.history(7)
    result = run_module(module, {**ECS, "max_results": 3}, {"ecs": ecs})
    assert [d["deployment_id"] for d in result["deployments"]] == arns[::-1][:3]
    assert [d["task_definition_arn"] for d in result["deployments"]] == [OLD_TD, NEW_TD, OLD_TD]
    assert len(ecs.called("ListServiceDeployments")) == 4  # 7 deployments, 2 a page
    assert all(call["maxResults"] == 100 for call in ecs.called("ListServiceDeployments"))


def test_an_unknown_service_deployment_is_a_clear_error(run_module, ecs) -> None:
    missing = f"{ECS_ARN}:service-deployment/{CLUSTER}/{SERVICE}/NOPE"
    ecs.handlers["DescribeServiceDeployments"] = lambda p: {
        "serviceDeployments": [],
        "failures": [{"arn": missing, "reason": "MISSING"}],
    }
    result = run_module(module, {**ECS, "deployment_id": missing}, {"ecs": ecs})
    assert result.failed
    assert result["msg"] == f"Service deployment {missing} does not exist"


# -- either ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("controller", ["codedeploy", "ecs"])
def test_every_controller_s_deployment_has_the_same_keys(run_module, codedeploy, ecs, controller) -> None:
    ecs.add(f"{ECS_ARN}:service-deployment/{CLUSTER}/{SERVICE}/D0", OLD_TD, ECS_LINEAR, started=-500)
    args, clients = {"codedeploy": (CODEDEPLOY, {"codedeploy": codedeploy}), "ecs": (ECS, {"ecs": ecs})}[controller]
    result = run_module(module, args, clients)
    assert not result.failed, result.get("msg")
    assert result["deployments"]
    for deployment in result["deployments"]:
        assert set(deployment) >= NEUTRAL, NEUTRAL - set(deployment)
        assert set(deployment["traffic"]) >= {"original", "replacement"}


@pytest.mark.parametrize("args", [{"max_results": 0}, {"deployment_id": "d-1", "statuses": ["active"]}])
def test_bad_input_is_refused_before_any_call(run_module, codedeploy, args) -> None:
    result = run_module(module, {**CODEDEPLOY, **args}, {"codedeploy": codedeploy})
    assert result.failed
    assert codedeploy.calls == []
