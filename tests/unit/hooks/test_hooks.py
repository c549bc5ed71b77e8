"""Each hook against the emulator with the real PascalCase event: success and each failure reported."""

from __future__ import annotations

import logging
import re
import time

import boto3
import pytest

from hooks import (
    budgets,
    run_migrations,
    validate_before_install,
    validate_deployment,
    validate_production,
    validate_test_traffic,
)
from tests.unit.hooks.conftest import (
    REGION,
    Environment,
    LambdaContext,
    as_aws_answers,
    create_environment,
    event,
    reported,
)

# --- BeforeInstall -------------------------------------------------------------------------------


@pytest.mark.usefixtures("before_install")
def test_before_install_succeeds_on_a_sound_environment(aws, environment) -> None:
    result = validate_before_install.handler(event(environment), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    assert "image 123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:2.0.0, version 2.0.0" in result["summary"]
    assert reported(aws) == [(environment.deployment_id, "Succeeded")]


@pytest.mark.usefixtures("before_install")
def test_before_install_fails_on_an_inactive_task_definition(aws, environment) -> None:
    boto3.client("ecs", region_name=REGION).deregister_task_definition(taskDefinition=environment.task_definition_arn)
    result = validate_before_install.handler(event(environment), LambdaContext())
    assert result["reason"] == f"task definition {environment.task_definition_arn} is INACTIVE, not ACTIVE"
    assert reported(aws) == [(environment.deployment_id, "Failed")]


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("orders:latest", "image 'orders:latest' uses the moving tag 'latest'"),
        ("Orders/Bad Name:1", "image reference 'Orders/Bad Name:1' is not well formed"),
        ("registry.example.com/orders", "has neither a tag nor a digest"),
    ],
)
def test_before_install_fails_on_a_bad_image(aws, image, reason) -> None:
    environment = create_environment(image=image)
    as_aws_answers(aws, environment)
    aws.installed = False
    result = validate_before_install.handler(event(environment), LambdaContext())
    assert result["status"] == "Failed"
    assert reason in result["reason"]


@pytest.mark.usefixtures("before_install")
def test_before_install_fails_when_a_target_group_is_missing(aws, environment) -> None:
    boto3.client("elbv2", region_name=REGION).delete_listener(ListenerArn=environment.listener_arns["test"])
    result = validate_before_install.handler(event(environment), LambdaContext())
    assert result["status"] == "Failed"
    assert "listener missing" in result["reason"] or "listeners exist" in result["reason"]


@pytest.mark.usefixtures("before_install")
def test_before_install_fails_when_another_deployment_is_active(aws, environment) -> None:
    other = boto3.client("codedeploy", region_name=REGION).create_deployment(
        applicationName="orders",
        deploymentGroupName="orders-prod",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
    )["deploymentId"]
    result = validate_before_install.handler(event(environment), LambdaContext())
    assert result["reason"] == f"deployment(s) {other} also active in orders-prod"


# --- AfterInstall --------------------------------------------------------------------------------


def _task_set(environment, running: int, stability: str) -> dict:
    return {
        "id": "ecs-svc/222",
        "taskSetArn": "arn:aws:ecs:eu-west-1:123456789012:task-set/prod/orders/ecs-svc/222",
        "taskDefinition": environment.task_definition_arn,
        "status": "ACTIVE",
        "computedDesiredCount": 2,
        "runningCount": running,
        "stabilityStatus": stability,
        "loadBalancers": [
            {"targetGroupArn": environment.target_group_arns["green"], "containerName": "web", "containerPort": 8000}
        ],
    }


def test_after_install_waits_for_steady_state_and_healthy_targets(aws, environment, monkeypatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "0.05")
    states = iter([(0, "STABILIZING"), (1, "STABILIZING"), (2, "STEADY_STATE")])

    def describe_services(_params):
        running, stability = next(states, (2, "STEADY_STATE"))
        return {
            "services": [
                {
                    "serviceName": "orders",
                    "taskSets": [
                        {
                            **_task_set(environment, 2, "STEADY_STATE"),
                            "id": "ecs-svc/111",
                            "status": "PRIMARY",
                            "taskDefinition": environment.task_definition_arn.replace(":1", ":0"),
                        },
                        _task_set(environment, running, stability),
                    ],
                }
            ]
        }

    aws.handlers["DescribeServices"] = describe_services
    boto3.client("elbv2", region_name=REGION).register_targets(
        TargetGroupArn=environment.target_group_arns["green"], Targets=[{"Id": "10.0.1.10"}, {"Id": "10.0.2.10"}]
    )
    result = validate_deployment.handler(event(environment), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    assert result["summary"] == "task set ecs-svc/222 steady with 2 task(s); 2 healthy target(s) in orders-green"


def test_after_install_fails_when_tasks_never_run(aws, environment, monkeypatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "0.05")
    monkeypatch.setenv("STEADY_STATE_TIMEOUT_SECONDS", "0.3")
    aws.handlers["DescribeServices"] = lambda p: {
        "services": [{"taskSets": [_task_set(environment, 1, "STABILIZING")]}]
    }
    result = validate_deployment.handler(event(environment), LambdaContext())
    assert result["reason"] == (
        "replacement task set ecs-svc/222 not at steady state in 0.3s: 1 of 2 tasks running (STABILIZING)"
    )
    assert reported(aws) == [(environment.deployment_id, "Failed")]


def test_after_install_fails_on_unhealthy_targets(aws, environment, monkeypatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "0.05")
    monkeypatch.setenv("STEADY_STATE_TIMEOUT_SECONDS", "0.3")
    aws.handlers["DescribeServices"] = lambda p: {
        "services": [{"taskSets": [_task_set(environment, 2, "STEADY_STATE")]}]
    }
    aws.handlers["DescribeTargetHealth"] = lambda p: {
        "TargetHealthDescriptions": [
            {"Target": {"Id": "10.0.1.10", "Port": 8000}, "TargetHealth": {"State": "healthy"}},
            {
                "Target": {"Id": "10.0.2.10", "Port": 8000},
                "TargetHealth": {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch"},
            },
        ]
    }
    result = validate_deployment.handler(event(environment), LambdaContext())
    assert result["reason"] == (
        "1 of 2 targets healthy in orders-green after 0.3s (others: Target.ResponseCodeMismatch)"
    )


# --- AfterAllowTestTraffic -----------------------------------------------------------------------


@pytest.fixture
def test_listener(listener, monkeypatch):
    monkeypatch.setenv("TEST_LISTENER_URL", listener.url)
    monkeypatch.setenv("RETRY_INTERVAL_SECONDS", "0.05")
    monkeypatch.setenv("RETRY_BUDGET_SECONDS", "0.5")
    # The budget the target groups' health checks call for is tested on its own (below); here it is none.
    monkeypatch.setattr(validate_test_traffic, "health_check_budget", lambda names: 0.0)
    return listener


def test_the_retry_budget_follows_the_target_groups_health_checks(aws, environment) -> None:
    """Interval x healthy threshold + timeout, plus margin: the test listener routes to the new targets only
    once their checks (started when it began forwarding to them) pass."""
    elbv2 = boto3.client("elbv2", region_name=REGION)
    for arn in environment.target_group_arns.values():
        elbv2.modify_target_group(
            TargetGroupArn=arn, HealthCheckIntervalSeconds=30, HealthyThresholdCount=5, HealthCheckTimeoutSeconds=5
        )
    assert validate_test_traffic.health_check_budget(["orders-blue", "orders-green"]) == 30 * 5 + 5 + 30
    assert budgets.function_budget(120, 30, 5, 5) == {
        "retry_budget_seconds": 185.0,
        "hook_budget_seconds": 245,
        "function_timeout_seconds": 275,
    }
    # Within Lambda's 900 s, whatever the health checks say.
    assert budgets.function_budget(600, 300, 10, 60)["function_timeout_seconds"] == 900


def test_test_traffic_waits_as_long_as_the_health_checks_need(aws, environment, test_listener, monkeypatch) -> None:
    monkeypatch.setattr(validate_test_traffic, "health_check_budget", lambda names: 3.0)
    test_listener.serve_version("2.0.0")
    test_listener.routes[("GET", "/health")] = (503, {"detail": "no healthy target yet"})

    def healthy_after_a_second() -> None:
        if time.monotonic() - started > 1.0:
            test_listener.serve_version("2.0.0")

    started = time.monotonic()
    test_listener.before_answer = healthy_after_a_second
    result = validate_test_traffic.handler(event(environment), LambdaContext())
    # RETRY_BUDGET_SECONDS alone (0.5 s) would have failed before the targets were healthy.
    assert result["status"] == "Succeeded", result["reason"]


def test_test_traffic_succeeds_when_green_answers(aws, environment, test_listener, monkeypatch) -> None:
    test_listener.serve_version("2.0.0")
    test_listener.routes[("GET", "/items?limit=1")] = (200, {"items": []})
    test_listener.routes[("POST", "/items")] = (201, {"id": 1})
    monkeypatch.setenv(
        "SMOKE_REQUESTS",
        '[{"path": "/items?limit=1"}, {"method": "POST", "path": "/items", '
        '"expect_status": 201, "body": {"sku": "SMOKE-1", "name": "smoke"}}]',
    )
    result = validate_test_traffic.handler(event(environment), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    assert result["summary"].startswith("4 request(s) through the test listener, version 2.0.0: p50")
    assert test_listener.requests == [
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/items?limit=1"),
        ("POST", "/items"),
    ]


def test_test_traffic_fails_when_the_old_version_answers(aws, environment, test_listener) -> None:
    test_listener.serve_version("1.9.0")
    result = validate_test_traffic.handler(event(environment), LambdaContext())
    assert result["reason"] == (
        "GET /health on the test listener: serves version '1.9.0', not the version being deployed '2.0.0' "
        "(still so after 0.5s of retries)"
    )
    assert reported(aws) == [(environment.deployment_id, "Failed")]


def test_test_traffic_fails_when_green_is_not_ready(aws, environment, test_listener) -> None:
    test_listener.serve_version("2.0.0", ready=503)
    result = validate_test_traffic.handler(event(environment), LambdaContext())
    assert result["status"] == "Failed"
    assert "answered 503" in result["reason"]
    assert "database: no answer within 2s" in result["reason"]


def test_test_traffic_retries_until_green_passes(aws, environment, test_listener, monkeypatch) -> None:
    monkeypatch.setenv("RETRY_BUDGET_SECONDS", "5")
    test_listener.serve_version("2.0.0", ready=503)

    def ready_from_the_third_try() -> None:
        if sum(1 for request in test_listener.requests if request[1] == "/ready") >= 3:
            test_listener.serve_version("2.0.0")

    test_listener.before_answer = ready_from_the_third_try
    result = validate_test_traffic.handler(event(environment), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    assert sum(1 for r in test_listener.requests if r[1] == "/ready") >= 3


def test_test_traffic_fails_on_a_smoke_request(aws, environment, test_listener, monkeypatch) -> None:
    test_listener.serve_version("2.0.0")
    monkeypatch.setenv("SMOKE_REQUESTS", '[{"path": "/items", "expect_status": 200}]')
    result = validate_test_traffic.handler(event(environment), LambdaContext())
    assert result["reason"].startswith("GET /items on the test listener: GET ")
    assert "answered 404" in result["reason"]
    assert "expected 200" in result["reason"]


def test_test_traffic_needs_its_listener_url(aws, environment) -> None:
    result = validate_test_traffic.handler(event(environment), LambdaContext())
    assert result["reason"] == (
        "TEST_LISTENER_URL is not set: the lambda hooks role sets it to the test listener's URL"
    )
    assert reported(aws) == [(environment.deployment_id, "Failed")]


def test_test_traffic_slow_listener_fails_within_the_budget(aws, environment, test_listener, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_TIME_BUDGET_SECONDS", "1")
    monkeypatch.setenv("REQUEST_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("RETRY_BUDGET_SECONDS", "30")
    test_listener.serve_version("2.0.0")
    test_listener.delay = 3.0
    started = time.monotonic()
    result = validate_test_traffic.handler(event(environment), LambdaContext())
    assert result["status"] == "Failed"
    assert result["reason"].startswith("GET /health on the test listener: GET http://127.0.0.1:")
    # How long it retried depends on when the first request started within the budget (this machine's pace).
    assert re.search(r"/health: no answer \(timed out\) \(still so after \d+\.\ds of retries\)$", result["reason"])
    # Reported at the 1 s budget, not after the 5 s request timeout nor the 3 s the listener takes.
    assert time.monotonic() - started < 2.5
    assert reported(aws) == [(environment.deployment_id, "Failed")]


# --- BeforeAllowTraffic --------------------------------------------------------------------------


@pytest.fixture
def run_task(aws):
    """The emulator's RunTask breaks on awsvpc networking and its tasks never stop: answer these here."""
    aws.handlers["RunTask"] = lambda p: {
        "tasks": [{"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/1", "lastStatus": "PROVISIONING"}],
        "failures": [],
    }
    aws.handlers["StopTask"] = lambda p: {"task": {"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/1"}}
    return aws


def _stopped_task(task_arn: str, exit_code: int, reason: str = "Essential container in task exited") -> dict:
    return {
        "tasks": [
            {
                "taskArn": task_arn,
                "lastStatus": "STOPPED",
                "stoppedReason": reason,
                "containers": [{"name": "web", "exitCode": exit_code}],
            }
        ],
        "failures": [],
    }


def test_migrations_run_the_new_task_definition_and_succeed_on_exit_0(aws, run_task, environment, monkeypatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "1")
    aws.handlers["DescribeTasks"] = lambda p: _stopped_task("arn:task/1", 0)
    result = run_migrations.handler(event(environment), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    (request,) = aws.requests("RunTask")
    assert request["taskDefinition"] == environment.task_definition_arn
    assert request["launchType"] == "FARGATE"
    assert request["overrides"] == {
        "containerOverrides": [{"name": "web", "command": ["python", "-m", "service", "migrate"]}]
    }
    assert request["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert request["startedBy"] == f"codedeploy-{environment.deployment_id}"
    assert reported(aws) == [(environment.deployment_id, "Succeeded")]


def test_migration_failure_reports_exit_code_and_reason(aws, run_task, environment, monkeypatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "1")
    monkeypatch.setenv("MIGRATION_COMMAND", '["python", "-m", "service", "migrate", "--revision", "0002"]')
    aws.handlers["DescribeTasks"] = lambda p: {**_stopped_task("arn:task/1", 1)}
    result = run_migrations.handler(event(environment), LambdaContext())
    assert result["status"] == "Failed"
    assert (
        "(python -m service migrate --revision 0002) exited 1: Essential container in task exited" in result["reason"]
    )
    assert reported(aws) == [(environment.deployment_id, "Failed")]


def test_migration_that_never_ends_is_stopped_and_fails(aws, run_task, environment, monkeypatch) -> None:
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "1")
    monkeypatch.setenv("MIGRATION_TIMEOUT_SECONDS", "2")
    aws.handlers["DescribeTasks"] = lambda p: {
        "tasks": [{"taskArn": "arn:task/1", "lastStatus": "RUNNING"}],
        "failures": [],
    }
    result = run_migrations.handler(event(environment), LambdaContext())
    assert result["status"] == "Failed"
    assert "still running after" in result["reason"]
    assert "stopped it" in result["reason"]
    assert aws.requests("StopTask")[0]["reason"] == "migration exceeded its time budget"


@pytest.fixture
def new_service(aws, environment):
    """A CODE_DEPLOY service just created by provisioning: its first task definition, its network (what the
    ecs_service role's migration-on-create runs `python -m hooks.run_migrations` against)."""
    network = {
        "awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}
    }
    aws.handlers["DescribeServices"] = lambda p: {
        "services": [
            {
                "serviceName": "orders",
                "taskDefinition": environment.task_definition_arn,
                "taskSets": [
                    {
                        "status": "PRIMARY",
                        "taskDefinition": environment.task_definition_arn,
                        "networkConfiguration": network,
                    }
                ],
            }
        ],
        "failures": [],
    }
    return environment


@pytest.mark.parametrize(("exit_code", "returncode"), [(0, 0), (3, 1)])
def test_the_first_migration_of_a_new_service_exits_with_the_tasks_outcome(  # noqa: PLR0917 - fixtures
    aws, run_task, new_service, monkeypatch, capsys, exit_code, returncode
) -> None:
    """provision's migration-on-create: the command's exit code is the migration task's outcome (the role's
    command task fails on 1, naming the container's exit code)."""
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "1")
    aws.handlers["DescribeTasks"] = lambda p: _stopped_task("arn:task/1", exit_code)
    argv = ["--cluster", "prod", "--service", "orders", "--container", "web", "--started-by", "provision-orders"]
    assert run_migrations.main(argv) == returncode
    printed = capsys.readouterr().out
    (request,) = aws.requests("RunTask")
    assert request["startedBy"] == "provision-orders"
    assert request["taskDefinition"] == new_service.task_definition_arn
    assert request["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-1"]
    if exit_code:
        assert "(python -m service migrate) exited 3: Essential container in task exited" in printed
        assert printed.startswith("FAILED: migration task arn:aws:ecs:")
    else:
        assert "exited 0" in printed


def test_the_first_migration_of_a_missing_service_fails_naming_it(aws, environment, capsys) -> None:
    aws.handlers["DescribeServices"] = lambda p: {"services": [], "failures": [{"arn": "orders", "reason": "MISSING"}]}
    assert run_migrations.main(["--cluster", "prod", "--service", "orders"]) == 1
    assert "FAILED: ECS service orders not found in cluster prod" in capsys.readouterr().out


# --- AfterAllowTraffic ---------------------------------------------------------------------------


@pytest.fixture
def production(listener, monkeypatch):
    monkeypatch.setenv("PRODUCTION_LISTENER_URL", listener.url)
    monkeypatch.setenv("PROBE_INTERVAL_SECONDS", "0.01")
    monkeypatch.setenv("CONSECUTIVE_SUCCESSES", "3")
    return listener


def _alarm(name: str, state: str) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"{name} is {state}")


def test_production_succeeds_when_the_new_version_serves_and_alarms_are_ok(
    aws, environment, production, monkeypatch
) -> None:
    production.serve_version("2.0.0")
    _alarm("orders-5xx", "OK")
    monkeypatch.setenv("ALARM_NAMES", '["orders-5xx"]')
    result = validate_production.handler(event(environment), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    assert result["summary"].startswith("production served 2.0.0 for 3 checks in a row")
    assert result["summary"].endswith("1 alarm(s) OK")


def test_production_fails_on_an_alarm(aws, environment, production, monkeypatch) -> None:
    production.serve_version("2.0.0")
    _alarm("orders-5xx", "ALARM")
    monkeypatch.setenv("ALARM_NAMES", '["orders-5xx"]')
    result = validate_production.handler(event(environment), LambdaContext())
    assert result["reason"] == "alarm(s) in ALARM: orders-5xx (orders-5xx is ALARM)"
    assert reported(aws) == [(environment.deployment_id, "Failed")]


def test_production_fails_when_the_old_version_still_serves(aws, environment, production, monkeypatch) -> None:
    # The facts are read within the budget too: enough for them on a busy machine, then probes until it ends.
    monkeypatch.setenv("HOOK_TIME_BUDGET_SECONDS", "2")
    production.serve_version("1.9.0")
    result = validate_production.handler(event(environment), LambdaContext())
    assert result["reason"] == (
        "production did not serve version '2.0.0' for 3 checks in a row (best streak ended with: served version "
        "'1.9.0')"
    )


@pytest.mark.usefixtures("before_install")
def test_hooks_read_the_appspec_with_get_application_revision(aws, environment) -> None:
    """On AWS GetDeployment never returns the AppSpec content: the hooks read it by its sha256."""
    result = validate_before_install.handler(event(environment), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    (request,) = aws.requests("GetApplicationRevision")
    assert request["applicationName"] == "orders"
    assert request["revision"]["revisionType"] == "AppSpecContent"
    assert set(request["revision"]["appSpecContent"]) == {"sha256"}


def test_after_install_checks_the_task_definition_the_replacement_runs(aws, environment) -> None:
    """After Install the facts come from the task set ECS runs for the deployment, not the AppSpec: AfterInstall
    checks its container, port and image (BeforeInstall's checks, made again on what really runs)."""
    latest = boto3.client("ecs", region_name=REGION).register_task_definition(
        family="orders",
        containerDefinitions=[
            {"name": "web", "image": "orders:latest", "memory": 512, "portMappings": [{"containerPort": 8000}]}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    aws.handlers["DescribeServices"] = lambda p: {
        "services": [{"taskSets": [{**_task_set(environment, 2, "STEADY_STATE"), "taskDefinition": latest}]}]
    }
    result = validate_deployment.handler(event(environment), LambdaContext())
    assert result["status"] == "Failed"
    assert result["reason"] == "image 'orders:latest' uses the moving tag 'latest': a rollback could not return to it"
    assert aws.requests("GetApplicationRevision") == []


# --- A deployment from another client ---------------------------------------------------------------


@pytest.fixture(params=["without sha256", "in YAML"])
def unreadable_appspec(request, aws) -> Environment:
    """A deployment whose AppSpec the hooks cannot read: created without `sha256` (the AWS SDKs and CLI allow it;
    ecspresso does it), or with a YAML AppSpec (which the hooks do not parse)."""
    if request.param == "without sha256":
        created = create_environment(sha256=False)
    else:
        created = create_environment(appspec_format="yaml")
    as_aws_answers(aws, created)
    return created


def test_a_deployment_without_a_readable_appspec_passes_before_install(aws, unreadable_appspec, caplog) -> None:
    """Before Install only the AppSpec names the task definition: BeforeInstall checks the rest, and says what it
    could not check and why."""
    aws.installed = False
    with caplog.at_level(logging.WARNING, logger="bluegreen-hooks"):
        result = validate_before_install.handler(event(unreadable_appspec), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    assert result["summary"].startswith("task definition not checked before Install (")
    assert "AfterInstall checks the replacement task set's" in result["summary"]
    assert result["summary"].endswith("target groups orders-blue, orders-green and 2 listener(s) exist")
    assert "the AppSpec cannot be read" in caplog.text
    assert reported(aws) == [(unreadable_appspec.deployment_id, "Succeeded")]


def test_a_deployment_without_sha256_says_how_to_create_one_the_hooks_can_read(aws) -> None:
    environment = create_environment(sha256=False)
    as_aws_answers(aws, environment)
    aws.installed = False
    result = validate_before_install.handler(event(environment), LambdaContext())
    assert (
        f"deployment {environment.deployment_id} has no AppSpecContent revision with a sha256, and GetDeployment "
        "never returns the AppSpec itself" in result["summary"]
    )
    assert aws.requests("GetApplicationRevision") == []


def test_a_deployment_without_a_readable_appspec_passes_after_install(aws, unreadable_appspec) -> None:
    boto3.client("elbv2", region_name=REGION).register_targets(
        TargetGroupArn=unreadable_appspec.target_group_arns["green"],
        Targets=[{"Id": "10.0.1.10"}, {"Id": "10.0.2.10"}],
    )
    result = validate_deployment.handler(event(unreadable_appspec), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    assert result["summary"] == "task set ecs-svc/222 steady with 2 task(s); 2 healthy target(s) in orders-green"
    assert aws.requests("GetApplicationRevision") == []


def test_migrations_of_a_deployment_without_sha256_run_what_the_replacement_runs(
    aws, run_task, unreadable_appspec, monkeypatch
) -> None:
    monkeypatch.setenv("POLL_INTERVAL_SECONDS", "1")
    aws.handlers["DescribeTasks"] = lambda p: _stopped_task("arn:task/1", 0)
    result = run_migrations.handler(event(unreadable_appspec), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    (request,) = aws.requests("RunTask")
    assert request["taskDefinition"] == unreadable_appspec.task_definition_arn
    assert request["overrides"]["containerOverrides"][0]["name"] == "web"
    assert request["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": unreadable_appspec.subnets,
        "securityGroups": unreadable_appspec.security_groups,
        "assignPublicIp": "DISABLED",
    }
    assert aws.requests("GetApplicationRevision") == []


def test_production_over_https_needs_the_service_hostname(aws, environment, monkeypatch) -> None:
    monkeypatch.setenv("PRODUCTION_LISTENER_URL", "https://orders-123.eu-west-1.elb.amazonaws.com:443")
    result = validate_production.handler(event(environment), LambdaContext())
    assert result["status"] == "Failed"
    assert result["reason"].startswith("PRODUCTION_HOSTNAME is not set for an HTTPS production listener")


def test_production_probe_names_the_service_hostname(aws, environment, production, monkeypatch) -> None:
    monkeypatch.setenv("PRODUCTION_HOSTNAME", "orders.example.test")
    production.serve_version("2.0.0")
    seen = []
    production.before_answer = lambda: seen.append(True)
    result = validate_production.handler(event(environment), LambdaContext())
    assert result["status"] == "Succeeded", result["reason"]
    assert seen
