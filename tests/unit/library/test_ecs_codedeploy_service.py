"""What ecs_codedeploy_service sends to UpdateService: only what a CODE_DEPLOY service accepts, and differs."""

from __future__ import annotations

from ecs_codedeploy_service import changes_for


def test_only_differing_reported_attributes_are_sent() -> None:
    service = {"desiredCount": 2, "healthCheckGracePeriodSeconds": 30, "taskDefinition": "arn:...:orders:7"}
    wanted = {"desired_count": 3, "health_check_grace_period_seconds": 30}
    assert changes_for(service, wanted) == {"desiredCount": 3}
    assert changes_for(service, {"desired_count": 2, "health_check_grace_period_seconds": None}) == {}


def test_an_attribute_the_service_does_not_report_is_left_alone() -> None:
    assert changes_for({"desiredCount": 2}, {"desired_count": 2, "health_check_grace_period_seconds": 10}) == {}
