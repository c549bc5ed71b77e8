"""Filters over the model of an environment and the playbooks' decisions (module_utils/model/, module_utils/iam/).

bluegreen_names: "{{ bluegreen_app | bluegreen_names(bluegreen_env, service) }}"
previous: "{{ succeeded_deployments | bluegreen_rollback_target }}"
drift: "{{ serving_task_definition | bluegreen_task_definition_drift(wanted) }}"
roles: "{{ bluegreen_names | bluegreen_role_policies(partition='aws', account=..., region=...) }}"
alarms: "{{ bluegreen_names | bluegreen_alarm_specs(load_balancer_suffix, target_group_suffixes, settings) }}"
ecs: "{{ config_name | bluegreen_ecs_deployment_configuration(custom_routing, bake_minutes, function_arns, role_arn,
         manual_promote_minutes=0, alarm_names=[...]) }}"
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.errors import AnsibleFilterError

# Controller plugins are imported without ansible.cfg's module_utils path (that path is for modules, which AnsiballZ
# ships as ansible.module_utils.*): import the same files as the tests and the sandbox do, from the repository root.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

from module_utils.iam import policies as iam  # noqa: E402
from module_utils.model import (  # noqa: E402
    alarms,
    decisions,
    ecs,
)
from module_utils.model import names as model  # noqa: E402


def bluegreen_names(app: str, env: str, service: str | None = None) -> dict:
    try:
        return model.names(app, env, service)
    except model.ModelError as error:
        raise AnsibleFilterError(str(error)) from error


def bluegreen_rollback_target(succeeded: list[dict]) -> dict:
    try:
        return decisions.rollback_target(list(succeeded))
    except decisions.DecisionError as error:
        raise AnsibleFilterError(str(error)) from error


def bluegreen_task_definition_drift(serving: dict, wanted: dict) -> list[str]:
    return decisions.task_definition_drift(serving, wanted)


def bluegreen_ecs_deployment_configuration(
    config_name: str, custom_routing: dict, bake_minutes, function_arns: dict, role_arn: str, **options
) -> dict:
    """The ECS-native service's deploymentConfiguration for the inventory's traffic plan and hooks
    (module_utils/model/ecs.py); a plan ECS would refuse fails here, before anything changes."""
    try:
        return ecs.deployment_configuration(
            config_name, dict(custom_routing or {}), bake_minutes, dict(function_arns), role_arn, **options
        )
    except ecs.EcsPlanError as error:
        raise AnsibleFilterError(str(error)) from error


def bluegreen_ecs_with_plan(configuration: dict, config_name: str, custom_routing: dict, bake_minutes) -> dict:
    """The service's deploymentConfiguration with another traffic plan, hooks and alarms kept
    (module_utils/model/ecs.py with_plan)."""
    try:
        return ecs.with_plan(dict(configuration or {}), config_name, dict(custom_routing or {}), bake_minutes)
    except ecs.EcsPlanError as error:
        raise AnsibleFilterError(str(error)) from error


def bluegreen_role_policies(names: dict, **facts) -> dict:
    """The service's roles and their statements: "{{ bluegreen_names | bluegreen_role_policies(partition=...,
    account=..., region=..., path=..., secret_arns=..., ...) }}" (module_utils/iam/policies.py)."""
    return iam.role_policies(dict(names), **facts)


def bluegreen_operator_policies(names: dict, **facts) -> dict:
    """The environment's operator policies and which each access attaches (module_utils/iam/policies.py):
    "{{ bluegreen_names | bluegreen_operator_policies(partition=..., account=..., region=..., path=...) }}"."""
    return iam.operator_policies(dict(names), **facts)


def bluegreen_alarm_specs(names: dict, load_balancer: str, target_groups: list, settings: dict | None = None) -> list:
    """PutMetricAlarm requests for the service's alarms (module_utils/model/alarms.py)."""
    try:
        return alarms.alarm_specs(dict(names), load_balancer, list(target_groups), dict(settings or {}))
    except alarms.AlarmError as error:
        raise AnsibleFilterError(str(error)) from error


def bluegreen_retired_alarms(names: dict) -> list:
    """The alarms an earlier version of the project provisioned and this one does not."""
    return alarms.retired_alarm_names(dict(names))


class FilterModule:
    def filters(self) -> dict:
        return {
            "bluegreen_names": bluegreen_names,
            "bluegreen_rollback_target": bluegreen_rollback_target,
            "bluegreen_task_definition_drift": bluegreen_task_definition_drift,
            "bluegreen_role_policies": bluegreen_role_policies,
            "bluegreen_operator_policies": bluegreen_operator_policies,
            "bluegreen_alarm_specs": bluegreen_alarm_specs,
            "bluegreen_retired_alarms": bluegreen_retired_alarms,
            "bluegreen_ecs_deployment_configuration": bluegreen_ecs_deployment_configuration,
            "bluegreen_ecs_with_plan": bluegreen_ecs_with_plan,
        }
