"""The same five checks behind ECS's hook protocol (hooks/ecs_event.py): the event ECS sends, the hookStatus
returned, IN_PROGRESS with callBackDelay and hookDetails for a check that is not done, and a migration that is
started once however often its hook is invoked. moto answers EC2, ELBv2, ECS task definitions and CloudWatch;
the service-deployment operations it lacks are answered here, checked against botocore's model."""

from __future__ import annotations

import time

import boto3
import pytest

from hooks import (
    run_migrations,
    validate_before_install,
    validate_deployment,
    validate_production,
    validate_test_traffic,
)
from tests.unit.hooks.conftest import REGION, Environment, LambdaContext, create_environment

ACCOUNT = "123456789012"
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/prod/orders"
DEPLOYMENT_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/prod/orders/Dpl0001"
TARGET_REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/prod/orders/222"
SOURCE_REVISION = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/prod/orders/111"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-prod-"


class EcsService:
    """The ECS-native state of the service the hooks read: the revision, the deployment and its hooks."""

    def __init__(self, environment: Environment) -> None:
        elbv2 = boto3.client("elbv2", region_name=REGION)
        blue, green = environment.target_group_arns["blue"], environment.target_group_arns["green"]
        self.rules = {
            name: elbv2.create_rule(
                ListenerArn=environment.listener_arns[name],
                Priority=10,
                Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                Actions=[
                    {
                        "Type": "forward",
                        "ForwardConfig": {
                            "TargetGroups": [
                                {"TargetGroupArn": blue, "Weight": 100},
                                {"TargetGroupArn": green, "Weight": 0},
                            ]
                        },
                    }
                ],
            )["Rules"][0]["RuleArn"]
            for name in ("prod", "test")
        }
        self.environment = environment
        self.green = green
        self.running, self.pending = 0, 2
        self.status = "IN_PROGRESS"
        self.stage = "POST_SCALE_UP"
        self.hooks: list[dict] = []
        self.others: list[str] = []

    def revision(self) -> dict:
        env = self.environment
        return {
            "serviceRevisionArn": TARGET_REVISION,
            "serviceArn": SERVICE_ARN,
            "taskDefinition": env.task_definition_arn,
            "launchType": "FARGATE",
            "loadBalancers": [
                {
                    "targetGroupArn": env.target_group_arns["blue"],
                    "containerName": "web",
                    "containerPort": 8000,
                    "advancedConfiguration": {
                        "alternateTargetGroupArn": self.green,
                        "productionListenerRule": self.rules["prod"],
                        "testListenerRule": self.rules["test"],
                        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/orders-prod-ecs-elb",
                    },
                }
            ],
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": ["subnet-1"],
                    "securityGroups": ["sg-1"],
                    "assignPublicIp": "DISABLED",
                }
            },
            "resolvedConfiguration": {
                "loadBalancers": [{"targetGroupArn": self.green, "productionListenerRule": self.rules["prod"]}]
            },
        }

    def deployment(self) -> dict:
        return {
            "serviceDeploymentArn": DEPLOYMENT_ARN,
            "serviceArn": SERVICE_ARN,
            "status": self.status,
            "lifecycleStage": self.stage,
            "targetServiceRevision": {
                "arn": TARGET_REVISION,
                "requestedTaskCount": 2,
                "runningTaskCount": self.running,
                "pendingTaskCount": self.pending,
            },
            "sourceServiceRevisions": [{"arn": SOURCE_REVISION}],
            "lifecycleHookDetails": self.hooks,
        }


@pytest.fixture
def ecs_service(aws) -> EcsService:
    service = EcsService(create_environment())
    aws.handlers["DescribeServiceRevisions"] = lambda p: {"serviceRevisions": [service.revision()], "failures": []}
    aws.handlers["DescribeServiceDeployments"] = lambda p: {
        "serviceDeployments": [service.deployment()],
        "failures": [],
    }
    aws.handlers["ListServiceDeployments"] = lambda p: {
        "serviceDeployments": [
            {"serviceDeploymentArn": arn, "status": "IN_PROGRESS"} for arn in [DEPLOYMENT_ARN, *service.others]
        ]
    }
    aws.handlers["DescribeServices"] = lambda p: {
        "services": [
            {
                "serviceName": "orders",
                "deploymentConfiguration": {
                    "strategy": "LINEAR",
                    "alarms": {"alarmNames": ["orders-5xx"], "enable": True, "rollback": True},
                },
            }
        ],
        "failures": [],
    }
    return service


def ecs_event(stage: str, hook_details: dict | None = None) -> dict:
    """The event ECS sends a Lambda hook (the developer guide's payload, see the module docstring of
    hooks/ecs_event.py)."""
    event = {
        "executionId": "exec-ecs-1",
        "lifecycleStage": stage,
        "resourceArn": DEPLOYMENT_ARN,
        "executionDetails": {
            "serviceArn": SERVICE_ARN,
            "targetServiceRevisionArn": TARGET_REVISION,
            "testTrafficWeights": {},
            "productionTrafficWeights": {SOURCE_REVISION: 100},
        },
    }
    if hook_details is not None:
        event["hookDetails"] = hook_details
    return event


def test_an_ecs_event_gets_its_status_returned_never_put_to_codedeploy(aws, ecs_service) -> None:
    result = validate_before_install.handler(ecs_event("PRE_SCALE_UP"), LambdaContext())
    assert result == {"hookStatus": "SUCCEEDED"}
    assert aws.requests("PutLifecycleEventHookExecutionStatus") == []
    assert aws.requests("DescribeServiceRevisions") == [{"serviceRevisionArns": [TARGET_REVISION]}]
    # The listener rules ECS rewrites were looked up.
    assert aws.requests("ListServiceDeployments")[0]["status"][:2] == ["PENDING", "IN_PROGRESS"]


def test_before_install_fails_when_another_service_deployment_is_active(aws, ecs_service) -> None:
    ecs_service.others = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/prod/orders/Other9"]
    assert validate_before_install.handler(ecs_event("PRE_SCALE_UP"), LambdaContext()) == {"hookStatus": "FAILED"}


def test_before_install_fails_on_a_missing_listener_rule(aws, ecs_service) -> None:
    boto3.client("elbv2", region_name=REGION).delete_rule(RuleArn=ecs_service.rules["test"])
    assert validate_before_install.handler(ecs_event("PRE_SCALE_UP"), LambdaContext()) == {"hookStatus": "FAILED"}


def test_post_scale_up_is_polled_until_the_green_tasks_run_and_are_registered(aws, ecs_service, monkeypatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "3")
    first = validate_deployment.handler(ecs_event("POST_SCALE_UP"), LambdaContext())
    assert first["hookStatus"] == "IN_PROGRESS"
    assert first["callBackDelay"] == 3
    carried = first["hookDetails"]["bluegreen"]
    assert carried["invocation"] == 1
    assert carried["since"] <= time.time()

    ecs_service.running, ecs_service.pending = 2, 0
    aws.handlers["DescribeTargetHealth"] = lambda p: {
        "TargetHealthDescriptions": [
            {
                "Target": {"Id": f"10.0.1.{i}", "Port": 8000},
                "TargetHealth": {"State": "unused", "Reason": "Target.NotInUse"},
            }
            for i in (10, 11)
        ]
    }
    second = validate_deployment.handler(ecs_event("POST_SCALE_UP", first["hookDetails"]), LambdaContext())
    assert second == {"hookStatus": "SUCCEEDED"}
    (asked,) = {p["TargetGroupArn"] for p in aws.requests("DescribeTargetHealth")}
    assert asked == ecs_service.green  # the target group the green revision resolved to


def test_a_polled_check_fails_past_its_deadline(aws, ecs_service, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_POLL_DEADLINE_SECONDS", "60")
    long_ago = {"bluegreen": {"since": time.time() - 120, "invocation": 20, "check": {}}}
    assert validate_deployment.handler(ecs_event("POST_SCALE_UP", long_ago), LambdaContext()) == {
        "hookStatus": "FAILED"
    }


@pytest.fixture
def migration(aws, ecs_service, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders-prod-run-migrations")
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "2")
    ecs_service.stage = "POST_TEST_TRAFFIC_SHIFT"
    ecs_service.running, ecs_service.pending = 2, 0
    task = {"taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/m1", "lastStatus": "PROVISIONING"}
    started: list[dict] = []

    def run_task(params: dict) -> dict:
        started.append(params)
        return {"tasks": [dict(task)], "failures": []}

    def list_tasks(params: dict) -> dict:
        # ListTasks by startedBy lists running tasks only.
        listed = started and task["lastStatus"] != "STOPPED" and params.get("startedBy") == started[0]["startedBy"]
        return {"taskArns": [task["taskArn"]] if listed else []}

    aws.handlers["RunTask"] = run_task
    aws.handlers["DescribeTasks"] = lambda p: {"tasks": [dict(task)], "failures": []}
    aws.handlers["ListTasks"] = list_tasks
    return task


def _hook(name: str, status: str) -> dict:
    return {"hookId": name, "targetType": "AWS_LAMBDA", "targetArn": FUNCTION + name, "status": status}


def test_migrations_wait_for_the_test_traffic_check_then_run_once(aws, ecs_service, migration) -> None:
    ecs_service.hooks = [_hook("validate-test-traffic", "IN_PROGRESS"), _hook("run-migrations", "IN_PROGRESS")]
    waiting = run_migrations.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT"), LambdaContext())
    assert waiting["hookStatus"] == "IN_PROGRESS"
    assert aws.requests("RunTask") == []

    ecs_service.hooks[0]["status"] = "SUCCEEDED"
    started = run_migrations.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT", waiting["hookDetails"]), LambdaContext())
    assert started["hookStatus"] == "IN_PROGRESS"
    assert started["callBackDelay"] == 2
    (request,) = aws.requests("RunTask")
    assert request["startedBy"] == "ecs-deployment-Dpl0001"
    assert request["taskDefinition"] == ecs_service.environment.task_definition_arn
    assert request["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-1"]
    assert started["hookDetails"]["bluegreen"]["check"]["task_arn"] == migration["taskArn"]

    migration["lastStatus"] = "RUNNING"
    running = run_migrations.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT", started["hookDetails"]), LambdaContext())
    assert running["hookStatus"] == "IN_PROGRESS"
    # Invoked again without the state (a second invocation of the same stage): it finds its own task by startedBy.
    again = run_migrations.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT"), LambdaContext())
    assert again["hookStatus"] == "IN_PROGRESS"
    assert {"cluster": "prod", "startedBy": "ecs-deployment-Dpl0001"} in aws.requests("ListTasks")

    migration.update(lastStatus="STOPPED", containers=[{"name": "web", "exitCode": 0}])
    done = run_migrations.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT", running["hookDetails"]), LambdaContext())
    assert done == {"hookStatus": "SUCCEEDED"}
    assert len(aws.requests("RunTask")) == 1


def test_a_stopped_migration_is_found_among_the_familys_stopped_tasks(aws, ecs_service, migration) -> None:
    ecs_service.hooks = [_hook("validate-test-traffic", "SUCCEEDED")]
    migration.update(
        lastStatus="STOPPED", startedBy="ecs-deployment-Dpl0001", containers=[{"name": "web", "exitCode": 3}]
    )
    aws.handlers["ListTasks"] = lambda p: {
        "taskArns": [migration["taskArn"]] if p.get("desiredStatus") == "STOPPED" else []
    }
    assert run_migrations.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT"), LambdaContext()) == {"hookStatus": "FAILED"}
    assert aws.requests("RunTask") == []


def test_no_migration_after_a_failed_test_traffic_check(aws, ecs_service, migration) -> None:
    ecs_service.hooks = [_hook("validate-test-traffic", "FAILED")]
    assert run_migrations.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT"), LambdaContext()) == {"hookStatus": "FAILED"}
    ecs_service.hooks, ecs_service.status = [], "ROLLBACK_IN_PROGRESS"
    assert run_migrations.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT"), LambdaContext()) == {"hookStatus": "FAILED"}
    assert aws.requests("RunTask") == []


def test_test_traffic_and_production_checks_run_on_ecs_facts(aws, ecs_service, listener, monkeypatch) -> None:
    listener.serve_version("2.0.0")
    for name, value in {
        "TEST_LISTENER_URL": listener.url,
        "RETRY_BUDGET_SECONDS": "0.5",
        "RETRY_INTERVAL_SECONDS": "0.05",
        "PRODUCTION_LISTENER_URL": listener.url,
        "PROBE_INTERVAL_SECONDS": "0.01",
        "CONSECUTIVE_SUCCESSES": "2",
    }.items():
        monkeypatch.setenv(name, value)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(
        AlarmName="orders-5xx",
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="OK", StateReason="quiet")
    ecs_service.stage = "POST_TEST_TRAFFIC_SHIFT"
    assert validate_test_traffic.handler(ecs_event("POST_TEST_TRAFFIC_SHIFT"), LambdaContext()) == {
        "hookStatus": "SUCCEEDED"
    }
    ecs_service.stage = "POST_PRODUCTION_TRAFFIC_SHIFT"
    assert validate_production.handler(ecs_event("POST_PRODUCTION_TRAFFIC_SHIFT"), LambdaContext()) == {
        "hookStatus": "SUCCEEDED"
    }
    # The alarms come from the service's deploymentConfiguration: one in ALARM fails the check.
    cloudwatch.set_alarm_state(AlarmName="orders-5xx", StateValue="ALARM", StateReason="5XX")
    assert validate_production.handler(ecs_event("POST_PRODUCTION_TRAFFIC_SHIFT"), LambdaContext()) == {
        "hookStatus": "FAILED"
    }


def test_an_event_of_neither_controller_is_refused_loudly(aws) -> None:
    with pytest.raises(ValueError, match="expected an ECS lifecycle hook event"):
        validate_deployment.handler({"executionId": "x", "lifecycleStage": "POST_SCALE_UP"}, LambdaContext())
