"""AppSpec rendering: AWS's documented shape, and a clear message for every bad input."""

from __future__ import annotations

import json

import ecs_appspec as module
import pytest
import yaml
from ansible.module_utils.codedeploy.appspec import (
    AppSpecError,
    build_appspec,
    parse,
    render_json,
    sha256,
    task_definition_of,
)

TASK_DEFINITION = "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:42"
NETWORK = {"subnets": ["subnet-0a1b2c3d4e5f60718"], "security_groups": ["sg-0123abcd"], "assign_public_ip": "DISABLED"}


def test_full_appspec_has_aws_documented_shape() -> None:
    appspec = build_appspec(
        TASK_DEFINITION,
        "web",
        8000,
        platform_version="1.4.0",
        network_configuration=NETWORK,
        capacity_provider_strategy=[
            {"capacity_provider": "FARGATE", "base": 1, "weight": 1},
            {"capacity_provider": "FARGATE_SPOT", "weight": 3},
        ],
        hooks={"AfterAllowTraffic": "orders-validate-production", "BeforeInstall": "orders-validate-before-install"},
    )
    assert appspec == {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": TASK_DEFINITION,
                        "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8000},
                        "PlatformVersion": "1.4.0",
                        "NetworkConfiguration": {
                            "AwsvpcConfiguration": {
                                "Subnets": ["subnet-0a1b2c3d4e5f60718"],
                                "SecurityGroups": ["sg-0123abcd"],
                                "AssignPublicIp": "DISABLED",
                            }
                        },
                        "CapacityProviderStrategy": [
                            {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
                            {"Base": 0, "CapacityProvider": "FARGATE_SPOT", "Weight": 3},
                        ],
                    },
                }
            }
        ],
        # In the order the events run, not the order given.
        "Hooks": [
            {"BeforeInstall": "orders-validate-before-install"},
            {"AfterAllowTraffic": "orders-validate-production"},
        ],
    }


def test_rendering_is_deterministic_and_round_trips() -> None:
    appspec = build_appspec(TASK_DEFINITION, "web", 8000, hooks={"BeforeAllowTraffic": "orders-run-migrations"})
    content = render_json(appspec)
    assert content == render_json(
        build_appspec(TASK_DEFINITION, "web", 8000, hooks={"BeforeAllowTraffic": "orders-run-migrations"})
    )
    assert json.loads(content) == appspec
    assert parse(content) == appspec
    assert task_definition_of(parse(content)) == TASK_DEFINITION
    assert len(sha256(content)) == 64


def test_lambda_arns_with_a_qualifier_are_accepted() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders-run-migrations:live"
    assert build_appspec(TASK_DEFINITION, "web", 8000, hooks={"BeforeAllowTraffic": arn})["Hooks"] == [
        {"BeforeAllowTraffic": arn}
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_definition_arn": "orders:42"}, "task_definition_arn 'orders:42' is not a task definition ARN"),
        ({"task_definition_arn": TASK_DEFINITION.rsplit(":", 1)[0]}, "is not a task definition ARN with a revision"),
        ({"container_name": "web app"}, "container_name 'web app' must be 1 to 255 letters, digits, - or _"),
        ({"container_port": 0}, "container_port must be a port number from 1 to 65535, got 0"),
        ({"container_port": 70000}, "container_port must be a port number from 1 to 65535, got 70000"),
        ({"platform_version": "latest"}, "platform_version must be LATEST or a Fargate platform version"),
        (
            {"hooks": {"Install": "x"}},
            "hooks: Install cannot have a hook in an ECS deployment; use one of BeforeInstall",
        ),
        ({"hooks": {"AllowTraffic": "x", "ApplicationStop": "y"}}, "hooks: AllowTraffic, ApplicationStop cannot have"),
        (
            {"hooks": {"BeforeInstall": "not a name!"}},
            "hooks.BeforeInstall: 'not a name!' is neither a Lambda function",
        ),
        (
            {"network_configuration": {"subnets": ["subnet-0123abcd"]}},
            "network_configuration needs subnets, security_groups and assign_public_ip together",
        ),
        ({"network_configuration": {**NETWORK, "subnets": ["10.0.0.0/24"]}}, "'10.0.0.0/24' is not a subnet id"),
        ({"network_configuration": {**NETWORK, "security_groups": ["web"]}}, "'web' is not a security group id"),
        (
            {"network_configuration": {**NETWORK, "security_groups": [f"sg-0123abc{i}" for i in range(6)]}},
            "security_groups takes 1 to 5 security group ids, got 6",
        ),
        (
            {"network_configuration": {**NETWORK, "assign_public_ip": "YES"}},
            "assign_public_ip must be ENABLED or DISABLED, got 'YES'",
        ),
        (
            {
                "capacity_provider_strategy": [
                    {"capacity_provider": "FARGATE", "base": 1},
                    {"capacity_provider": "FARGATE_SPOT", "base": 2},
                ]
            },
            "only one capacity provider may have a base",
        ),
        (
            {"capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 0}]},
            "at least one capacity provider needs a weight above 0",
        ),
        (
            {"capacity_provider_strategy": [{"capacity_provider": "", "weight": 1}]},
            "capacity_provider_strategy[0].capacity_provider must be a capacity provider name",
        ),
    ],
)
def test_bad_input_says_what_is_wrong(kwargs, message) -> None:
    arguments = {"task_definition_arn": TASK_DEFINITION, "container_name": "web", "container_port": 8000, **kwargs}
    with pytest.raises(AppSpecError) as caught:
        build_appspec(**arguments)
    assert message in str(caught.value)


def test_module_returns_json_yaml_and_sha(run_module) -> None:
    result = run_module(
        module,
        {
            "task_definition_arn": TASK_DEFINITION,
            "container_name": "web",
            "container_port": 8000,
            "hooks": {"BeforeInstall": "orders-validate-before-install"},
        },
        clients={},
    )
    assert not result.failed
    assert result["changed"] is False
    assert result["content"] == result["json"]
    assert result["sha256"] == sha256(result["json"])
    assert yaml.safe_load(result["yaml"]) == result["appspec"] == json.loads(result["json"])


def test_module_writes_dest_idempotently_with_check_and_diff(run_module, tmp_path) -> None:
    dest = tmp_path / "appspec.yaml"
    args = {
        "task_definition_arn": TASK_DEFINITION,
        "container_name": "web",
        "container_port": 8000,
        "format": "yaml",
        "dest": str(dest),
    }
    predicted = run_module(module, args, clients={}, check_mode=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["diff"]["before"] == ""
    assert not dest.exists()

    written = run_module(module, args, clients={})
    assert written["changed"] is True
    assert dest.read_text() == written["yaml"] == written["content"]
    assert oct(dest.stat().st_mode & 0o777) == "0o644"

    again = run_module(module, args, clients={})
    assert again["changed"] is False

    changed_port = run_module(module, {**args, "container_port": 8080}, clients={}, diff=True)
    assert changed_port["changed"] is True
    assert "ContainerPort: 8000" in changed_port["diff"]["before"]
    assert "ContainerPort: 8080" in changed_port["diff"]["after"]


def test_module_fails_with_the_validation_message(run_module) -> None:
    result = run_module(
        module,
        {
            "task_definition_arn": TASK_DEFINITION,
            "container_name": "web",
            "container_port": 8000,
            "hooks": {"AllowTestTraffic": "x"},
        },
        clients={},
    )
    assert result.failed
    assert result["msg"].startswith("Invalid AppSpec input: hooks: AllowTestTraffic cannot have a hook")
