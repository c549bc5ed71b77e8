"""ecs_bluegreen_service: create an ECS-native blue/green service, converge what may change in place, refuse what
would start a deployment or belongs to another controller; check mode predicts. Against a model-checked fake."""

from __future__ import annotations

import copy

import ecs_bluegreen_service as module
import pytest

from module_utils.model import ecs as bluegreen_ecs
from module_utils.model import traffic
from tests.botocore_fake import AwsError
from tests.unit.library.fake_aws import FakeService

ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
ROLE = "arn:aws:iam::123456789012:role/orders-prod-ecs-load-balancer"
CONFIGURATION = bluegreen_ecs.deployment_configuration(
    traffic.ecs_strategy(traffic.plan("CodeDeployDefault.ECSCanary10Percent5Minutes")),
    {"validate-deployment": "arn:aws:lambda:eu-west-1:123456789012:function:orders-prod-validate-deployment"},
    "arn:aws:iam::123456789012:role/orders-prod-ecs-hooks",
)
ARGS = {
    "cluster": "orders-prod",
    "name": "orders-prod",
    "task_definition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-prod:1",
    "desired_count": 2,
    "subnets": ["subnet-1", "subnet-2"],
    "security_groups": ["sg-1"],
    "container_name": "web",
    "container_port": 8000,
    "target_group_arn": f"{ARN}:targetgroup/orders-prod-blue/1",
    "alternate_target_group_arn": f"{ARN}:targetgroup/orders-prod-green/2",
    "production_listener_rule_arn": f"{ARN}:listener-rule/app/orders-prod/1/2/3",
    "test_listener_rule_arn": f"{ARN}:listener-rule/app/orders-prod/1/4/5",
    "load_balancer_role_arn": ROLE,
    "deployment_configuration": CONFIGURATION,
    "health_check_grace_period_seconds": 10,
}


class FakeEcs(FakeService):
    def __init__(self) -> None:
        super().__init__("ecs")
        self.service: dict | None = None
        self.handlers.update(
            DescribeServices=lambda p: {
                "services": [copy.deepcopy(self.service)] if self.service else [],
                "failures": [] if self.service else [{"arn": p["services"][0], "reason": "MISSING"}],
            },
            CreateService=self._create,
            UpdateService=self._update,
        )

    def _create(self, params: dict) -> dict:
        # What ECS answers: numbers as it stores them (10.0 for 10), the controller it was given.
        service = {k: copy.deepcopy(v) for k, v in params.items() if k != "cluster"}
        service.update(serviceName=params["serviceName"], status="ACTIVE")
        self.service = service
        return {"service": copy.deepcopy(service)}

    def _update(self, params: dict) -> dict:
        if self.service is None:
            raise AwsError("ServiceNotFoundException", "Service not found.")
        self.service.update({k: v for k, v in params.items() if k not in ("cluster", "service")})
        return {"service": copy.deepcopy(self.service)}


@pytest.fixture
def ecs() -> FakeEcs:
    return FakeEcs()


def test_creates_the_service_with_the_ecs_controller_and_its_blue_green_settings(run_module, ecs) -> None:
    result = run_module(module, ARGS, {"ecs": ecs})
    assert result["changed"] is True
    (request,) = ecs.called("CreateService")
    assert request["deploymentController"] == {"type": "ECS"}
    assert request["deploymentConfiguration"]["strategy"] == "CANARY"
    advanced = request["loadBalancers"][0]["advancedConfiguration"]
    assert advanced == {
        "alternateTargetGroupArn": ARGS["alternate_target_group_arn"],
        "productionListenerRule": ARGS["production_listener_rule_arn"],
        "testListenerRule": ARGS["test_listener_rule_arn"],
        "roleArn": ROLE,
    }
    again = run_module(module, ARGS, {"ecs": ecs})
    assert again["changed"] is False
    assert len(ecs.called("UpdateService")) == 0


def test_check_mode_predicts_and_changes_nothing(run_module, ecs) -> None:
    assert run_module(module, ARGS, {"ecs": ecs}, check_mode=True)["changed"] is True
    assert ecs.called("CreateService") == []
    run_module(module, ARGS, {"ecs": ecs})
    longer = {**ARGS, "deployment_configuration": {**CONFIGURATION, "bakeTimeInMinutes": 30}}
    predicted = run_module(module, longer, {"ecs": ecs}, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["differences"] == ["deploymentConfiguration"]
    assert predicted["diff"]["after"]["deploymentConfiguration"]["bakeTimeInMinutes"] == 30
    assert ecs.called("UpdateService") == []


def test_converges_in_place_what_needs_no_deployment(run_module, ecs) -> None:
    run_module(module, ARGS, {"ecs": ecs})
    changed = run_module(
        module,
        {**ARGS, "desired_count": 4, "deployment_configuration": {**CONFIGURATION, "bakeTimeInMinutes": 30}},
        {"ecs": ecs},
    )
    assert changed["differences"] == ["deploymentConfiguration", "desiredCount"]
    (update,) = ecs.called("UpdateService")
    assert update["desiredCount"] == 4
    assert "taskDefinition" not in update
    assert "loadBalancers" not in update


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"alternate_target_group_arn": f"{ARN}:targetgroup/other/3"}, "loadBalancers"),
        ({"subnets": ["subnet-9"]}, "networkConfiguration"),
    ],
)
def test_refuses_what_would_start_a_deployment(run_module, ecs, change, named) -> None:
    run_module(module, ARGS, {"ecs": ecs})
    result = run_module(module, {**ARGS, **change}, {"ecs": ecs})
    assert result.failed
    assert f"differs in {named}: UpdateService would start a deployment" in result["msg"]
    assert ecs.called("UpdateService") == []


def test_a_codedeploy_service_is_pointed_at_the_migration(run_module, ecs) -> None:
    run_module(module, ARGS, {"ecs": ecs})
    ecs.service["deploymentController"] = {"type": "CODE_DEPLOY"}
    result = run_module(module, ARGS, {"ecs": ecs})
    assert result.failed
    assert (
        "CODE_DEPLOY deployment controller: move it to ECS-native blue/green with playbooks/migrate_controller.yml"
        in result["msg"]
    )


def test_hooks_ecs_would_refuse_are_refused_before_any_call(run_module, ecs) -> None:
    pause_at_shift = {
        **CONFIGURATION,
        "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]}],
    }
    result = run_module(module, {**ARGS, "deployment_configuration": pause_at_shift}, {"ecs": ecs})
    assert result.failed
    assert "PAUSE hook cannot be placed at PRODUCTION_TRAFFIC_SHIFT" in result["msg"]
    assert ecs.calls == []


def code_deploy_service(task_sets: list[dict]) -> dict:
    return {
        "serviceName": "orders-prod",
        "status": "ACTIVE",
        "deploymentController": {"type": "CODE_DEPLOY"},
        "taskDefinition": ARGS["task_definition"],
        "desiredCount": 2,
        "taskSets": task_sets,
    }


def task_set(group: str, status: str = "PRIMARY") -> dict:
    return {"id": f"ecs-svc/{group}", "status": status, "loadBalancers": [{"targetGroupArn": ARGS[group]}]}


def test_a_codedeploy_service_moves_in_place_serving_from_the_group_codedeploy_left_it_on(run_module, ecs) -> None:
    # CodeDeploy's last deployment left production on green: green becomes the target group, blue the alternate.
    ecs.service = code_deploy_service([task_set("alternate_target_group_arn")])
    predicted = run_module(module, {**ARGS, "migrate_from_codedeploy": True}, {"ecs": ecs}, check_mode=True)
    assert predicted["changed"] is True
    assert ecs.called("UpdateService") == []
    result = run_module(module, {**ARGS, "migrate_from_codedeploy": True}, {"ecs": ecs})
    assert result["migrated"] is True
    assert result["serving"] == ARGS["alternate_target_group_arn"]
    (request,) = ecs.called("UpdateService")
    assert request["deploymentController"] == {"type": "ECS"}
    assert "taskDefinition" not in request  # the task set's tasks stay
    (balancer,) = request["loadBalancers"]
    assert balancer["targetGroupArn"] == ARGS["alternate_target_group_arn"]
    assert balancer["advancedConfiguration"]["alternateTargetGroupArn"] == ARGS["target_group_arn"]
    # Moved: converging again changes nothing (the pair compared as a pair, whichever group serves).
    ecs.service["deploymentController"] = {"type": "ECS"}
    ecs.service.update(
        healthCheckGracePeriodSeconds=10,
        networkConfiguration={"awsvpcConfiguration": {"subnets": ARGS["subnets"], "securityGroups": ["sg-1"]}},
    )
    again = run_module(module, {**ARGS, "migrate_from_codedeploy": True}, {"ecs": ecs})
    assert again["changed"] is False, again


def test_a_move_during_a_codedeploy_deployment_is_refused_before_any_change(run_module, ecs) -> None:
    ecs.service = code_deploy_service([task_set("target_group_arn"), task_set("alternate_target_group_arn", "ACTIVE")])
    result = run_module(module, {**ARGS, "migrate_from_codedeploy": True}, {"ecs": ecs})
    assert result.failed
    assert "has 2 task sets: a CodeDeploy deployment is in progress" in result["msg"]
    assert ecs.called("UpdateService") == []
