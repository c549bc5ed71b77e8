"""What the sandbox's CodeDeploy shows of a deployment holds to AWS's service model: no field AWS does not return,
so that nothing (the hooks above all) can come to rely on one."""

from __future__ import annotations

import botocore.session
from botocore.validate import ParamValidator

from sandbox.codedeploy import views
from sandbox.codedeploy.model import EVENTS

MODEL = botocore.session.get_session().get_service_model("codedeploy")


def installed_deployment() -> dict:
    """A deployment's record after Install, as the engine keeps it (the task sets' task definitions included)."""
    events = {name: {"status": "Pending"} for name in EVENTS}
    events["BeforeInstall"] = {
        "status": "Succeeded",
        "startTime": 1_700_000_000.0,
        "endTime": 1_700_000_001.0,
        "diagnostics": {"errorCode": "Success", "scriptName": "orders-validate-before-install", "message": "Succeeded"},
    }
    events["Install"] = {"status": "Succeeded", "startTime": 1_700_000_001.0, "endTime": 1_700_000_030.0}
    return {
        "deploymentId": "d-ABCDEFGHI",
        "status": "InProgress",
        "createTime": 1_700_000_000.0,
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
        "_engine": {
            "events": events,
            "hooks": {},
            "target": {"id": "orders:orders", "arn": "arn:aws:ecs:eu-west-1:123456789012:service/orders/orders"},
            "task_sets": {
                "Blue": {
                    "id": "ecs-svc/1",
                    "targetGroup": "orders-blue",
                    "desiredCount": 2,
                    "runningCount": 2,
                    "status": "PRIMARY",
                    "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:1",
                },
                "Green": {"id": "ecs-svc/2", "targetGroup": "orders-green", "desiredCount": 2, "status": "ACTIVE"},
            },
            "green_weight": 0,
        },
    }


LIVE = {
    "ecs-svc/1": {
        "id": "ecs-svc/1",
        "computedDesiredCount": 2,
        "runningCount": 2,
        "pendingCount": 0,
        "status": "PRIMARY",
    },
    "ecs-svc/2": {
        "id": "ecs-svc/2",
        "computedDesiredCount": 2,
        "runningCount": 1,
        "pendingCount": 1,
        "status": "ACTIVE",
        "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:2",
    },
}


def test_deployment_targets_carry_exactly_the_fields_of_aws_model() -> None:
    """BatchGetDeploymentTargets: every ECSTaskSet member AWS's model has, and nothing else: a task set's task
    definition is ECS's to say (DescribeServices), not CodeDeploy's."""
    answer = {"deploymentTargets": views.deployment_targets(installed_deployment(), LIVE)}
    shape = MODEL.operation_model("BatchGetDeploymentTargets").output_shape
    report = ParamValidator().validate(answer, shape)
    assert not report.has_errors(), report.generate_report()
    (target,) = answer["deploymentTargets"]
    members = set(MODEL.shape_for("ECSTaskSet").members)
    assert [set(task_set) for task_set in target["ecsTarget"]["taskSetsInfo"]] == [members, members]
    assert [ts["taskSetLabel"] for ts in target["ecsTarget"]["taskSetsInfo"]] == ["Blue", "Green"]


def test_get_deployment_of_a_revision_sent_without_sha256_shows_neither_content_nor_hash() -> None:
    """The strictest reading of an undocumented case (docs/dev/fidelity-ledger.md, CreateDeployment): no sha256 is
    computed, so GetDeployment gives no way to read the AppSpec back."""
    info = views.deployment_info(installed_deployment())
    assert info["revision"] == {"revisionType": "AppSpecContent", "appSpecContent": {}}
