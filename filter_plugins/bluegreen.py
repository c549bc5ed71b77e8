"""Filters over the model of an environment and the playbooks' decisions (module_utils/model/, module_utils/iam/).

bluegreen_names: "{{ bluegreen_app | bluegreen_names(bluegreen_env, service) }}"
drift: "{{ serving_task_definition | bluegreen_task_definition_drift(wanted) }}"
roles: "{{ bluegreen_names | bluegreen_role_policies(partition='aws', account=..., region=...) }}"
alarms: "{{ bluegreen_names | bluegreen_alarm_specs(load_balancer_suffix, target_group_suffixes, settings) }}"
plan: "{{ bluegreen_traffic | bluegreen_traffic_plan(bluegreen_names) }}"
ecs: "{{ bluegreen_plan | bluegreen_ecs_deployment_configuration(function_arns, role_arn, manual_promote_minutes=0,
         alarm_names=[...]) }}"
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

from module_utils import iam  # noqa: E402
from module_utils.model import (  # noqa: E402
    alarms,
    decisions,
    ecs,
    traffic,
)
from module_utils.model import names as model  # noqa: E402


def bluegreen_names(app: str, env: str, service: str | None = None) -> dict:
    try:
        return model.names(app, env, service)
    except model.ModelError as error:
        raise AnsibleFilterError(str(error)) from error


def bluegreen_image_tag(value, what: str = "image_tag") -> str:
    """The image tag, checked (module_utils/model/names.py): "{{ image_tag | bluegreen_image_tag }}"."""
    try:
        return model.image_tag(value, what)
    except model.ModelError as error:
        raise AnsibleFilterError(str(error)) from error


def bluegreen_task_definition_drift(serving: dict, wanted: dict) -> list[str]:
    return decisions.task_definition_drift(serving, wanted)


def bluegreen_traffic_plan(value, names: dict, default: dict | None = None, what: str = "bluegreen_traffic") -> dict:
    """The traffic plan checked (module_utils/model/traffic.py), with its word and CodeDeploy's deployment config:
    "{{ bluegreen_traffic | bluegreen_traffic_plan(bluegreen_names) }}"; a deploy's override falls back on the
    environment's plan: "{{ traffic | bluegreen_traffic_plan(bluegreen_names, bluegreen_plan, 'traffic') }}"."""
    try:
        checked = traffic.plan(value, {k: default[k] for k in traffic.KEYS} if default else None, what)
    except traffic.TrafficPlanError as error:
        raise AnsibleFilterError(str(error)) from error
    return {**checked, "word": traffic.word(checked), "codedeploy": traffic.codedeploy_config(checked, names)}


def bluegreen_ecs_deployment_configuration(plan: dict, function_arns: dict, role_arn: str, **options) -> dict:
    """The ECS-native service's deploymentConfiguration for the traffic plan and hooks (module_utils/model/ecs.py);
    a plan ECS would refuse fails here, before anything changes."""
    try:
        # Checked again (a role's argument may be a plan as the inventory says it); the derived keys are not a plan's.
        checked = traffic.plan({k: v for k, v in dict(plan).items() if k not in ("word", "codedeploy")})
        strategy = traffic.ecs_strategy(checked)
        return ecs.deployment_configuration(strategy, dict(function_arns), role_arn, **options)
    except (ecs.EcsPlanError, traffic.TrafficPlanError) as error:
        raise AnsibleFilterError(str(error)) from error


def bluegreen_role_policies(names: dict, **facts) -> dict:
    """The service's roles and their statements: "{{ bluegreen_names | bluegreen_role_policies(partition=...,
    account=..., region=..., path=..., secret_arns=..., ...) }}" (module_utils/iam/)."""
    return iam.role_policies(dict(names), **facts)


def bluegreen_operator_policies(names: dict, **facts) -> dict:
    """The environment's operator policies and which each access attaches (module_utils/iam/):
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
            "bluegreen_task_definition_drift": bluegreen_task_definition_drift,
            "bluegreen_role_policies": bluegreen_role_policies,
            "bluegreen_operator_policies": bluegreen_operator_policies,
            "bluegreen_alarm_specs": bluegreen_alarm_specs,
            "bluegreen_retired_alarms": bluegreen_retired_alarms,
            "bluegreen_ecs_deployment_configuration": bluegreen_ecs_deployment_configuration,
            "bluegreen_traffic_plan": bluegreen_traffic_plan,
            "bluegreen_image_tag": bluegreen_image_tag,
        }
