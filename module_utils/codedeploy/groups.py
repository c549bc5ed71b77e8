# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CodeDeploy deployment groups and deployment configs as resources: the desired state from a module's
parameters, compared normalized with what AWS has."""

from __future__ import annotations

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - AnsibleAWSModule reports a missing botocore
    ClientError = OSError

from ..aws import chunks as _chunks
from ..aws import iso
from ..aws import paginated as _paginated

AUTO_ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST")
TRIGGER_EVENTS = (
    "DeploymentStart",
    "DeploymentSuccess",
    "DeploymentFailure",
    "DeploymentStop",
    "DeploymentRollback",
    "DeploymentReady",
)
PREDEFINED_CONFIG_PREFIX = "CodeDeployDefault."


# ---------------------------------------------------------------------------------------------
# Deployment group: desired state from module parameters, normalized comparison
# ---------------------------------------------------------------------------------------------


def desired_group(params):
    """The API fields of a deployment group that the module's parameters set (unset = not touched)."""
    desired = {}
    if params.get("service_role_arn") is not None:
        desired["serviceRoleArn"] = params["service_role_arn"]
    if params.get("deployment_config_name") is not None:
        desired["deploymentConfigName"] = params["deployment_config_name"]
    if params.get("ecs_service") is not None:
        desired["ecsServices"] = [
            {"clusterName": params["ecs_service"]["cluster"], "serviceName": params["ecs_service"]["service"]}
        ]
    if params.get("target_group_names") is not None:
        pair: dict[str, object] = {"targetGroups": [{"name": name} for name in params["target_group_names"]]}
        pair["prodTrafficRoute"] = {"listenerArns": list(params.get("prod_listener_arns") or [])}
        if params.get("test_listener_arns"):
            pair["testTrafficRoute"] = {"listenerArns": list(params["test_listener_arns"])}
        desired["loadBalancerInfo"] = {"targetGroupPairInfoList": [pair]}
    blue_green = {}
    if params.get("deployment_ready_wait_minutes") is not None:
        minutes = params["deployment_ready_wait_minutes"]
        blue_green["deploymentReadyOption"] = (
            {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": minutes}
            if minutes > 0
            else {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}
        )
    if params.get("blue_termination_wait_minutes") is not None:
        blue_green["terminateBlueInstancesOnDeploymentSuccess"] = {
            "action": "TERMINATE",
            "terminationWaitTimeInMinutes": params["blue_termination_wait_minutes"],
        }
    if blue_green:
        desired["blueGreenDeploymentConfiguration"] = blue_green
    if params.get("auto_rollback_events") is not None:
        events = list(params["auto_rollback_events"])
        desired["autoRollbackConfiguration"] = {"enabled": bool(events), "events": events}
    if params.get("alarms") is not None:
        desired["alarmConfiguration"] = {
            "enabled": bool(params["alarms"]),
            "ignorePollAlarmFailure": bool(params.get("alarm_ignore_poll_failure")),
            "alarms": [{"name": name} for name in params["alarms"]],
        }
    if params.get("triggers") is not None:
        desired["triggerConfigurations"] = [
            {
                "triggerName": trigger["name"],
                "triggerTargetArn": trigger["target_arn"],
                "triggerEvents": list(trigger["events"]),
            }
            for trigger in params["triggers"]
        ]
    return desired


def _sorted_names(items, key="name"):
    return sorted(item.get(key) for item in items or [])


def normalize_group(fields):
    """A canonical form of group fields, so that order and AWS's defaults do not look like changes."""
    normal = {}
    if "serviceRoleArn" in fields:
        normal["serviceRoleArn"] = fields["serviceRoleArn"]
    if "deploymentConfigName" in fields:
        normal["deploymentConfigName"] = fields["deploymentConfigName"]
    if "ecsServices" in fields:
        normal["ecsServices"] = sorted(
            (s.get("clusterName"), s.get("serviceName")) for s in fields.get("ecsServices") or []
        )
    if "loadBalancerInfo" in fields:
        pairs = []
        for pair in (fields.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or []:
            pairs.append(
                (
                    tuple(_sorted_names(pair.get("targetGroups"))),
                    tuple(sorted((pair.get("prodTrafficRoute") or {}).get("listenerArns") or [])),
                    tuple(sorted((pair.get("testTrafficRoute") or {}).get("listenerArns") or [])),
                )
            )
        normal["loadBalancerInfo"] = sorted(pairs)
    if "blueGreenDeploymentConfiguration" in fields:
        blue_green = fields.get("blueGreenDeploymentConfiguration") or {}
        normal_bg = {}
        ready = blue_green.get("deploymentReadyOption")
        if ready is not None:
            action = ready.get("actionOnTimeout", "CONTINUE_DEPLOYMENT")
            minutes = ready.get("waitTimeInMinutes", 0) if action == "STOP_DEPLOYMENT" else 0
            normal_bg["deploymentReadyOption"] = (action, minutes)
        terminate = blue_green.get("terminateBlueInstancesOnDeploymentSuccess")
        if terminate is not None:
            normal_bg["terminateBlueInstancesOnDeploymentSuccess"] = (
                terminate.get("action", "TERMINATE"),
                terminate.get("terminationWaitTimeInMinutes", 0),
            )
        normal["blueGreenDeploymentConfiguration"] = normal_bg
    if "autoRollbackConfiguration" in fields:
        rollback = fields.get("autoRollbackConfiguration") or {}
        enabled = bool(rollback.get("enabled"))
        normal["autoRollbackConfiguration"] = (
            enabled,
            tuple(sorted(rollback.get("events") or [])) if enabled else (),
        )
    if "alarmConfiguration" in fields:
        alarms = fields.get("alarmConfiguration") or {}
        enabled = bool(alarms.get("enabled"))
        normal["alarmConfiguration"] = (
            (enabled, bool(alarms.get("ignorePollAlarmFailure")), tuple(_sorted_names(alarms.get("alarms"))))
            if enabled
            else (False,)
        )
    if "triggerConfigurations" in fields:
        normal["triggerConfigurations"] = sorted(
            (t.get("triggerName"), t.get("triggerTargetArn"), tuple(sorted(t.get("triggerEvents") or [])))
            for t in fields.get("triggerConfigurations") or []
        )
    return normal


def group_changes(current, desired):
    """The desired fields whose normalized value differs from the current group's; only those are sent.

    A partly given blueGreenDeploymentConfiguration is merged with the current one first, so that
    setting the ready option alone does not reset the termination wait (UpdateDeploymentGroup
    replaces the whole structure).
    """
    desired = dict(desired)
    if "blueGreenDeploymentConfiguration" in desired:
        merged = dict(current.get("blueGreenDeploymentConfiguration") or {})
        merged.pop("greenFleetProvisioningOption", None)  # EC2 only; ECS rejects it
        merged.update(desired["blueGreenDeploymentConfiguration"])
        desired["blueGreenDeploymentConfiguration"] = merged
    current_normal = normalize_group({key: current.get(key) for key in desired})
    desired_normal = normalize_group(desired)
    return {key: value for key, value in desired.items() if current_normal.get(key) != desired_normal.get(key)}


def group_view(info):
    """What the module returns about a group: the fields it manages, snake_cased."""
    keep = (
        "applicationName",
        "deploymentGroupId",
        "deploymentGroupName",
        "deploymentConfigName",
        "serviceRoleArn",
        "computePlatform",
        "deploymentStyle",
        "ecsServices",
        "loadBalancerInfo",
        "blueGreenDeploymentConfiguration",
        "autoRollbackConfiguration",
        "alarmConfiguration",
        "triggerConfigurations",
        "lastSuccessfulDeployment",
        "lastAttemptedDeployment",
    )
    view = {key: info[key] for key in keep if key in info}
    for key in ("lastSuccessfulDeployment", "lastAttemptedDeployment"):
        if key in view:
            view[key] = {k: iso(v) for k, v in view[key].items()}
    return camel_dict_to_snake_dict(view)


# ---------------------------------------------------------------------------------------------
# Deployment configs
# ---------------------------------------------------------------------------------------------


def traffic_routing_config(routing_type, percentage=None, interval=None):
    """The API's trafficRoutingConfig for an ECS config; percentages and intervals (minutes) as ints."""
    if routing_type == "AllAtOnce":
        return {"type": "AllAtOnce"}
    if routing_type == "TimeBasedCanary":
        return {
            "type": routing_type,
            "timeBasedCanary": {"canaryPercentage": percentage, "canaryInterval": interval},
        }
    return {
        "type": routing_type,
        "timeBasedLinear": {"linearPercentage": percentage, "linearInterval": interval},
    }


def normalize_routing(config):
    config = config or {}
    routing_type = config.get("type", "AllAtOnce")
    if routing_type == "TimeBasedCanary":
        detail = config.get("timeBasedCanary") or {}
        return (routing_type, detail.get("canaryPercentage"), detail.get("canaryInterval"))
    if routing_type == "TimeBasedLinear":
        detail = config.get("timeBasedLinear") or {}
        return (routing_type, detail.get("linearPercentage"), detail.get("linearInterval"))
    return (routing_type, None, None)


def groups_using_config(client, config_name):
    """(users, unreadable): every application/group whose deployment config is `config_name`, across the
    account/region, and the applications whose groups the caller may not read (an environment's operator may read
    its own applications only: whether another's groups use the config is then CodeDeploy's to say, as
    DeleteDeploymentConfig refuses a config in use)."""
    users, unreadable = [], []
    for application in _paginated(client, "list_applications", "applications"):
        try:
            group_names = _paginated(client, "list_deployment_groups", "deploymentGroups", applicationName=application)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("AccessDenied", "AccessDeniedException"):
                raise
            unreadable.append(application)
            continue
        for chunk in _chunks(group_names):
            response = client.batch_get_deployment_groups(
                applicationName=application, deploymentGroupNames=chunk, aws_retry=True
            )
            for group in response.get("deploymentGroupsInfo", []):
                if group.get("deploymentConfigName") == config_name:
                    users.append(f"{application}/{group['deploymentGroupName']}")
    return users, unreadable
