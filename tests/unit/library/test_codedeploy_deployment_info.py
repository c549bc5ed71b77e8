"""codedeploy_deployment_info: the same shape as codedeploy_deployment, newest first, status filters."""

from __future__ import annotations

import codedeploy_deployment_info as module
import pytest

from tests.unit.library.fake_aws import FakeCodeDeploy


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


def test_latest_deployments_of_a_group_newest_first(run_module, codedeploy) -> None:
    result = run_module(
        module,
        {"application_name": "orders", "deployment_group_name": "orders-prod", "max_results": 2},
        {"codedeploy": codedeploy},
    )
    assert not result.failed
    assert [d["deployment_id"] for d in result["deployments"]] == ["d-2", "d-1"]
    assert result["deployments"][0]["traffic"] == {"original": 70.0, "replacement": 30.0}
    assert len(result["deployments"][0]["lifecycle_events"]) == 8
    assert result["deployment_group"]["deployment_group_name"] == "orders-prod"


def test_active_filter_expands_to_the_active_statuses(run_module, codedeploy) -> None:
    result = run_module(
        module,
        {"application_name": "orders", "deployment_group_name": "orders-prod", "statuses": ["active"]},
        {"codedeploy": codedeploy},
    )
    assert [d["deployment_id"] for d in result["deployments"]] == ["d-2"]
    listed = codedeploy.called("ListDeployments")
    assert all(c["includeOnlyStatuses"] == ["Baking", "Created", "InProgress", "Queued", "Ready"] for c in listed)
    # Fewer than max_results in each window of creation time: widened until all time (no createTimeRange).
    assert [("createTimeRange" in c) for c in listed] == [True, True, True, True, False]


def test_one_deployment_by_id_without_targets(run_module, codedeploy) -> None:
    result = run_module(module, {"deployment_id": "d-1", "include_targets": False}, {"codedeploy": codedeploy})
    (deployment,) = result["deployments"]
    assert (deployment["deployment_id"], deployment["status"], deployment["lifecycle_events"]) == ("d-1", "Failed", [])
    assert codedeploy.called("ListDeploymentTargets") == []


def test_unknown_deployment_is_a_clear_error(run_module, codedeploy) -> None:
    result = run_module(module, {"deployment_id": "d-NOPE"}, {"codedeploy": codedeploy})
    assert result.failed
    assert result["msg"] == "Deployment d-NOPE does not exist"
