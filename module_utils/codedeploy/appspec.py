# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AppSpec of an ECS blue/green deployment: validation and rendering, pure functions.

Shared by the `ecs_appspec` module (which renders it), the `bluegreen_deployment` module (which
hashes what it sends) and the tests. No AWS call here.

The content sent to CodeDeploy is JSON (valid YAML too): the hook Lambdas parse it with the standard
library alone, as the Lambda runtime has no YAML parser.
"""

from __future__ import annotations

import hashlib
import json
import re

# Only these five lifecycle events of an ECS deployment accept hooks, in the order they run.
HOOK_EVENTS = (
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)

TASK_DEFINITION_ARN = re.compile(
    r"^arn:aws[a-z-]*:ecs:[a-z]{2}(-[a-z]+)+-\d:\d{12}:task-definition/[A-Za-z0-9_-]{1,255}:[1-9]\d*$"
)
LAMBDA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LAMBDA_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z]{2}(-[a-z]+)+-\d:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$"
)
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
PLATFORM_VERSION = re.compile(r"^(LATEST|\d+\.\d+\.\d+)$")
CAPACITY_PROVIDER = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


class AppSpecError(ValueError):
    """Input that cannot make a valid AppSpec; the message says what and how to fix it."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AppSpecError(message)


def _network_configuration(network: dict) -> dict:
    subnets = network.get("subnets") or []
    security_groups = network.get("security_groups") or []
    assign_public_ip = network.get("assign_public_ip")
    # CodeDeploy takes all or none of these; none means "keep the service's current network settings".
    given = [bool(subnets), bool(security_groups), assign_public_ip is not None]
    _check(
        all(given) or not any(given),
        "network_configuration needs subnets, security_groups and assign_public_ip together "
        "(CodeDeploy accepts all or none of them); leave it out to keep the service's current network",
    )
    if not any(given):
        return {}
    _check(1 <= len(subnets) <= 16, f"network_configuration.subnets takes 1 to 16 subnet ids, got {len(subnets)}")
    _check(
        1 <= len(security_groups) <= 5,
        f"network_configuration.security_groups takes 1 to 5 security group ids, got {len(security_groups)}",
    )
    for subnet in subnets:
        _check(bool(SUBNET_ID.match(str(subnet))), f"{subnet!r} is not a subnet id (subnet-0123456789abcdef0)")
    for group in security_groups:
        _check(
            bool(SECURITY_GROUP_ID.match(str(group))),
            f"{group!r} is not a security group id (sg-0123456789abcdef0)",
        )
    if isinstance(assign_public_ip, bool):
        assign_public_ip = "ENABLED" if assign_public_ip else "DISABLED"
    _check(
        assign_public_ip in ("ENABLED", "DISABLED"),
        f"network_configuration.assign_public_ip must be ENABLED or DISABLED, got {assign_public_ip!r}",
    )
    return {
        "AwsvpcConfiguration": {
            "Subnets": list(subnets),
            "SecurityGroups": list(security_groups),
            "AssignPublicIp": assign_public_ip,
        }
    }


def _capacity_provider_strategy(strategy: list) -> list:
    rendered = []
    for index, item in enumerate(strategy):
        name = item.get("capacity_provider")
        _check(
            bool(name and CAPACITY_PROVIDER.match(name)),
            f"capacity_provider_strategy[{index}].capacity_provider must be a capacity provider name, got {name!r}",
        )
        base = item.get("base", 0) or 0
        weight = item.get("weight", 1 if len(strategy) == 1 else 0)
        _check(0 <= base <= 100000, f"capacity_provider_strategy[{index}].base must be 0 to 100000, got {base}")
        _check(
            weight is not None and 0 <= weight <= 1000,
            f"capacity_provider_strategy[{index}].weight must be 0 to 1000, got {weight}",
        )
        rendered.append({"Base": base, "CapacityProvider": name, "Weight": weight})
    _check(len(rendered) <= 6, "capacity_provider_strategy takes at most 6 capacity providers")
    _check(
        sum(1 for item in rendered if item["Base"]) <= 1,
        "capacity_provider_strategy: only one capacity provider may have a base",
    )
    _check(
        not rendered or any(item["Weight"] > 0 for item in rendered),
        "capacity_provider_strategy: at least one capacity provider needs a weight above 0",
    )
    return rendered


def _hooks(hooks: dict) -> list:
    unknown = sorted(set(hooks) - set(HOOK_EVENTS))
    _check(
        not unknown,
        f"hooks: {', '.join(unknown)} cannot have a hook in an ECS deployment; use one of {', '.join(HOOK_EVENTS)}",
    )
    rendered = []
    for event in HOOK_EVENTS:  # AppSpec order = the order the events run, whatever the input order
        function = hooks.get(event)
        if function is None:
            continue
        _check(
            bool(LAMBDA_NAME.match(str(function)) or LAMBDA_ARN.match(str(function))),
            f"hooks.{event}: {function!r} is neither a Lambda function name (letters, digits, - and _, "
            "at most 64) nor a Lambda function ARN",
        )
        rendered.append({event: function})
    return rendered


def build_appspec(
    task_definition_arn: str,
    container_name: str,
    container_port: int,
    *,
    platform_version: str | None = None,
    network_configuration: dict | None = None,
    capacity_provider_strategy: list | None = None,
    hooks: dict | None = None,
) -> dict:
    """Validate the inputs and return the AppSpec as a dict, in AWS's key order."""
    _check(bool(task_definition_arn), "task_definition_arn is required")
    _check(
        bool(TASK_DEFINITION_ARN.match(task_definition_arn)),
        f"task_definition_arn {task_definition_arn!r} is not a task definition ARN with a revision "
        "(arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>)",
    )
    _check(
        bool(container_name and CONTAINER_NAME.match(container_name)),
        f"container_name {container_name!r} must be 1 to 255 letters, digits, - or _ "
        "(the name of the container in the task definition)",
    )
    _check(
        isinstance(container_port, int) and not isinstance(container_port, bool) and 1 <= container_port <= 65535,
        f"container_port must be a port number from 1 to 65535, got {container_port!r}",
    )
    properties: dict = {
        "TaskDefinition": task_definition_arn,
        "LoadBalancerInfo": {"ContainerName": container_name, "ContainerPort": container_port},
    }
    if platform_version is not None:
        _check(
            bool(PLATFORM_VERSION.match(platform_version)),
            f"platform_version must be LATEST or a Fargate platform version such as 1.4.0, got {platform_version!r}",
        )
        properties["PlatformVersion"] = platform_version
    network = _network_configuration(network_configuration or {})
    if network:
        properties["NetworkConfiguration"] = network
    if capacity_provider_strategy:
        properties["CapacityProviderStrategy"] = _capacity_provider_strategy(capacity_provider_strategy)

    appspec: dict = {
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}],
    }
    rendered_hooks = _hooks(hooks or {})
    if rendered_hooks:
        appspec["Hooks"] = rendered_hooks
    return appspec


def render_json(appspec: dict) -> str:
    """Deterministic JSON: the same AppSpec gives the same bytes, hence the same sha256."""
    return json.dumps(appspec, indent=2, sort_keys=False) + "\n"


def render_yaml(appspec: dict) -> str:
    """YAML for people (and for `dest` files); key order kept as AWS documents it."""
    import yaml  # noqa: PLC0415  (PyYAML ships with ansible-core; only this function needs it)

    return yaml.safe_dump(appspec, sort_keys=False, default_flow_style=False, width=1000)


def sha256(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def parse(content: str) -> dict:
    """Read AppSpec content (JSON or YAML) back into a dict."""
    try:
        return json.loads(content)
    except ValueError:
        import yaml  # noqa: PLC0415

        loaded = yaml.safe_load(content)
        if not isinstance(loaded, dict):
            raise AppSpecError("AppSpec content is neither a JSON nor a YAML mapping") from None
        return loaded


def task_definition_of(appspec: dict) -> str | None:
    """The task definition ARN an AppSpec deploys (None when it has no ECS target service)."""
    for resource in appspec.get("Resources") or []:
        target = resource.get("TargetService") or {}
        if target.get("Type") == "AWS::ECS::Service":
            return (target.get("Properties") or {}).get("TaskDefinition")
    return None
