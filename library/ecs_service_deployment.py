#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecs_service_deployment
short_description: Create, wait on, stop or continue an ECS-native blue/green, linear or canary deployment
description:
  - For a service with the ECS deployment controller and a BLUE_GREEN, LINEAR or CANARY strategy (ECS-native
    blue/green, since 2025). The CodeDeploy controller has M(codedeploy_deployment); both report alike.
  - O(state=present) deploys a task definition (UpdateService, which starts a service deployment) and, with
    O(wait), waits for it, reporting each lifecycle stage, hook and traffic step it saw.
  - Idempotent. When the service's deployment in progress deploys the same task definition, it attaches to it;
    when the service already runs it (its current revision), nothing changes. When a deployment of another
    task definition is in progress it fails naming it, unless O(replace_active=true), which rolls it back first.
  - A deployment that was rolled back or stopped fails the task (unless O(fail_on_rollback=false)), naming the
    stage, the failed hook, the alarm and what serves production.
  - O(state=stopped) stops the deployment in progress (StopServiceDeployment, ROLLBACK by default) and waits.
  - O(state=continued) continues (or rolls back) a deployment paused at a PAUSE hook (ContinueServiceDeployment), as
    promote.yml's manual approval does.
version_added: 0.2.0
author: ecs-bluegreen-ops maintainers
options:
  cluster:
    description: The ECS cluster.
    type: str
    required: true
  service:
    description: The ECS service.
    type: str
    required: true
  state:
    description: What to do.
    type: str
    choices: [present, stopped, continued]
    default: present
  task_definition:
    description: The task definition ARN (or family:revision) to deploy. Required with O(state=present).
    type: str
  deployment_id:
    description:
      - A service deployment ARN to follow, stop or continue. Unset = the service's deployment in progress.
    type: str
    aliases: [service_deployment_arn]
  deployment_configuration:
    description:
      - The service's deploymentConfiguration (strategy, bake time, hooks, alarms) sent with the UpdateService that
        starts the deployment, as the bluegreen_ecs_deployment_configuration filter builds it. Each deployment runs
        with the traffic plan it was given; a per-deploy override applies to that deployment and is replaced by the
        next one's.
      - Omitted, the service's own applies.
    type: dict
  replace_active:
    description: Roll back a deployment of another task definition in progress, then deploy.
    type: bool
    default: false
  stop_type:
    description:
      - With O(state=stopped). V(ROLLBACK) returns production to the previous revision (the API reference names
        no other valid value, though botocore's model lists ABORT).
    type: str
    choices: [ROLLBACK]
    default: ROLLBACK
  action:
    description: With O(state=continued). V(CONTINUE) promotes; V(ROLLBACK) rolls the paused deployment back.
    type: str
    choices: [CONTINUE, ROLLBACK]
    default: CONTINUE
  wait:
    description: Wait as O(wait_for) says (default, for the end of the deployment).
    type: bool
    default: true
  wait_for:
    description: Return early, at a point of the deployment, instead of its end.
    type: dict
    suboptions:
      stage:
        description: A lifecycle stage (ServiceDeployment.lifecycleStage).
        type: str
        choices: [RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT,
                  POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME,
                  CLEAN_UP]
      paused:
        description: Until a PAUSE hook awaits ContinueServiceDeployment.
        type: bool
      replacement_traffic_percent:
        description: Until the new revision has at least this share of production traffic.
        type: float
      progress:
        description: Until anything changes.
        type: bool
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 3600
  report_every:
    description:
      - With the action plugin of the same name, return at each change (or after this many seconds) so each is
        printed as it happens; the plugin follows the deployment until the wait is over.
    type: int
    default: 0
  progress_since:
    description: Internal (the action plugin) - the snapshot last reported.
    type: dict
  follow:
    description: Internal (the action plugin) - only wait on O(deployment_id).
    type: bool
    default: false
  on_timeout:
    description: At the timeout, V(fail), V(return) the state, or V(rollback) the deployment and fail.
    type: str
    choices: [fail, return, rollback]
    default: fail
  fail_on_rollback:
    description: A rolled back or stopped deployment fails the task.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Deploy a task definition blue/green and report each stage as it happens
  ecs_service_deployment:
    cluster: orders-prod
    service: orders-prod
    task_definition: "{{ registered.taskdefinition.taskDefinitionArn }}"
    report_every: 10

- name: Promote (continue past the PAUSE hook)
  ecs_service_deployment:
    cluster: orders-prod
    service: orders-prod
    state: continued

- name: Roll back the deployment in progress
  ecs_service_deployment:
    cluster: orders-prod
    service: orders-prod
    state: stopped
"""

RETURN = r"""
deployment_id:
  description: The service deployment's ARN.
  returned: when there is a deployment
  type: str
status:
  description: Its status (SUCCESSFUL, ROLLBACK_SUCCESSFUL, IN_PROGRESS, ...).
  returned: when there is a deployment
  type: str
deployment:
  description: What was last seen of it (stage, hooks, traffic, tasks, alarms, rollback).
  returned: when there is a deployment
  type: dict
progress:
  description: Each change seen while waiting, with the seconds since the wait began.
  returned: always
  type: list
  elements: dict
attached:
  description: An existing deployment of the same task definition was followed instead of starting one.
  returned: always
  type: bool
reached:
  description: The O(wait_for) point was reached.
  returned: when waited
  type: bool
timed_out:
  description: The wait ended at O(wait_timeout).
  returned: when waited
  type: bool
finished:
  description: The wait is over (false = the action plugin calls again).
  returned: always
  type: bool
api_calls:
  description: DescribeServiceDeployments calls made by the wait.
  returned: when waited
  type: int
hook_failure_reason:
  description:
    - When a Lambda hook failed, the reason it logged for this service deployment (ECS only says FAILED).
    - Needs C(logs:FilterLogEvents) on the hook log groups; without it the task warns and goes on.
  returned: when a hook failed and logged a reason
  type: str
alarm_failure_reason:
  description:
    - When alarms rolled the deployment back, why each fired (its StateReason when it went to ALARM, from its
      history) and its target group's requests and 5XX answers during the deployment; ECS only names the alarms.
    - Needs C(cloudwatch:DescribeAlarms), C(cloudwatch:DescribeAlarmHistory) and C(cloudwatch:GetMetricStatistics);
      without them the task warns and goes on.
  returned: when alarms rolled the deployment back
  type: str
"""

from datetime import datetime

try:
    import botocore
except ImportError:  # pragma: no cover - AnsibleAWSModule reports it
    pass

from ansible.module_utils.codedeploy import hook_logged_reason, retry_decorator
from ansible.module_utils.deployment_wait import wait_as_asked
from ansible.module_utils.ecs_deployment import (
    ServiceDeploymentWatcher,
    active_deployment,
    controller_of,
    describe_deployment,
    describe_service,
    revision_task_definitions,
    wait_condition,
)
from ansible.module_utils.model.alarms import alarm_report
from ansible.module_utils.model.ecs import (
    STAGES,
    failed_hooks,
    failure_message,
    is_failure,
    paused_hook,
    short,
    snapshot,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

BLUE_GREEN_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")


def wait(module, client, arn, result):
    """Wait as the options say (module_utils/deployment_wait.py); fills result; returns the last snapshot."""
    return wait_as_asked(
        module,
        ServiceDeploymentWatcher(client, arn),
        arn,
        result,
        wait_for=wait_condition(module.params["wait_for"]),
        what=f"service deployment {short(arn)}",
        roll_back=lambda: client.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK", aws_retry=True),
        failure_message=failure_message,
    )


def finish(module, result, snap, expect_failure=False):
    if snap is not None and is_failure(snap) and not expect_failure and module.params["fail_on_rollback"]:
        message = failure_message(snap)
        # Why it failed, where ECS does not say: the failed hooks' logs (the deploy credential may read the hook log
        # groups), and why the alarms that rolled it back fired (ECS only names them), as CodeDeploy's path says.
        explanations = (
            (bool(failed_lambda_hooks(snap)), "hook_failure_reason", "The hook said",
             "logs", hook_reasons, "the failed hook's log for its reason"),
            (bool(snap["alarms"]["triggered"] and snap["timings"]["start_time"]), "alarm_failure_reason",
             "CloudWatch says", "cloudwatch", alarm_reasons, "why the alarms fired"),
        )  # fmt: skip
        for wanted, key, prefix, service, read, what in explanations:
            if not wanted:
                continue
            try:
                found = read(module.client(service, retry_decorator=retry_decorator()), snap)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                module.warn(f"Could not read {what}: {e}")
                continue
            if found:
                result[key] = found
                message += f" {prefix}: {found}"
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


def failed_lambda_hooks(snap):
    return [hook for hook in failed_hooks(snap) if hook["target_type"] == "AWS_LAMBDA"]


def hook_reasons(logs_client, snap):
    """What each failed Lambda hook logged as its reason for this service deployment; None if nothing."""
    deployment = short(snap["service_deployment_arn"])
    reasons = [hook_logged_reason(logs_client, hook["target"], deployment) for hook in failed_lambda_hooks(snap)]
    return "; ".join(r for r in reasons if r) or None


def alarm_reasons(cloudwatch_client, snap):
    """Why the alarms that rolled the deployment back fired, and their target groups' requests."""
    end = snap["timings"]["end_time"]
    return alarm_report(
        cloudwatch_client,
        snap["alarms"]["triggered"],
        datetime.fromisoformat(snap["timings"]["start_time"]),
        datetime.fromisoformat(end) if end else None,
    )


def blue_green_service(module, client):
    params = module.params
    try:
        service = describe_service(client, params["cluster"], params["service"])
    except LookupError as e:
        module.fail_json(msg=str(e))
    if controller_of(service) != "ECS":
        module.fail_json(
            msg=f"service {params['service']} uses the {controller_of(service)} deployment controller: deploy it with "
            "codedeploy_deployment, or move it to ECS-native blue/green (playbooks/migrate_controller.yml)"
        )
    strategy = (service.get("deploymentConfiguration") or {}).get("strategy") or "ROLLING"
    if strategy not in BLUE_GREEN_STRATEGIES:
        module.fail_json(
            msg=f"service {params['service']} deploys with strategy {strategy}, not blue/green: provision it with "
            "bluegreen_controller: ecs (deploymentConfiguration.strategy BLUE_GREEN, LINEAR or CANARY)"
        )
    return service


def ensure_present(module, client, result):
    params = module.params
    if not params["task_definition"]:
        module.fail_json(msg="task_definition is required with state=present")
    if params["follow"] and params["deployment_id"]:
        finish(module, result, wait(module, client, params["deployment_id"], result))
    service = blue_green_service(module, client)
    wanted = params["task_definition"]
    active = active_deployment(client, params["cluster"], params["service"])
    if active:
        target = active.get("targetServiceRevisionArn")
        if revision_task_definitions(client, [target]).get(target) == wanted:
            result["attached"] = True
            arn = active["serviceDeploymentArn"]
            snap = wait(module, client, arn, result) if params["wait"] else snapshot(describe_deployment(client, arn))
            result.update(deployment_id=arn, status=snap["status"], deployment=snap)
            finish(module, result, snap)
        if not params["replace_active"]:
            module.fail_json(
                msg=f"service deployment {short(active['serviceDeploymentArn'])} of another revision is "
                f"{active.get('status')}: wait for it, roll it back (rollback.yml), or set replace_active",
                deployment_id=active["serviceDeploymentArn"],
            )
        if module.check_mode:
            module.exit_json(changed=True, msg="would roll back the deployment in progress, then deploy")
        client.stop_service_deployment(
            serviceDeploymentArn=active["serviceDeploymentArn"], stopType="ROLLBACK", aws_retry=True
        )
        ServiceDeploymentWatcher(client, active["serviceDeploymentArn"]).wait(
            lambda s, t: False, params["wait_timeout"]
        )
        result["changed"] = True
    elif service.get("taskDefinition") == wanted:
        # The service's current revision runs it already: nothing to deploy.
        arn = service.get("currentServiceDeployment")
        if arn:
            snap = snapshot(describe_deployment(client, arn))
            result.update(deployment_id=arn, status=snap["status"], deployment=snap)
        module.exit_json(**result)
    if module.check_mode:
        module.exit_json(changed=True, msg=f"would deploy {wanted} to {params['service']}")
    request = {"cluster": params["cluster"], "service": params["service"], "taskDefinition": wanted}
    if params["deployment_configuration"]:
        request["deploymentConfiguration"] = params["deployment_configuration"]
    updated = client.update_service(**request, aws_retry=True)["service"]
    arn = updated.get("currentServiceDeployment")
    if not arn:
        module.fail_json(msg=f"UpdateService started no service deployment of {params['service']} (none current)")
    result["changed"] = True
    result["deployment_id"] = arn
    if not params["wait"]:
        snap = snapshot(describe_deployment(client, arn))
        result.update(status=snap["status"], deployment=snap)
        module.exit_json(**result)
    finish(module, result, wait(module, client, arn, result))


def target_deployment(module, client):
    params = module.params
    if params["deployment_id"]:
        return params["deployment_id"]
    active = active_deployment(client, params["cluster"], params["service"])
    return active["serviceDeploymentArn"] if active else None


def ensure_stopped(module, client, result):
    if module.params["follow"] and module.params["deployment_id"]:
        finish(module, result, wait(module, client, module.params["deployment_id"], result), expect_failure=True)
    arn = target_deployment(module, client)
    if arn is None:
        module.exit_json(msg="no service deployment in progress: nothing to stop", **result)
    snap = snapshot(describe_deployment(client, arn))
    result.update(deployment_id=arn, status=snap["status"], deployment=snap)
    if snap["status"] not in ("PENDING", "IN_PROGRESS"):
        module.exit_json(msg=f"service deployment {short(arn)} is {snap['status']}: nothing to stop", **result)
    if module.check_mode:
        module.exit_json(changed=True, **result)
    try:
        client.stop_service_deployment(serviceDeploymentArn=arn, stopType=module.params["stop_type"], aws_retry=True)
    except botocore.exceptions.ClientError as e:
        module.fail_json_aws(e, msg=f"Unable to stop service deployment {arn}", **result)
    result["changed"] = True
    if module.params["wait"]:
        finish(module, result, wait(module, client, arn, result), expect_failure=True)
    module.exit_json(**result)


def ensure_continued(module, client, result):
    if module.params["follow"] and module.params["deployment_id"]:
        # A later step of the action plugin's wait: the deployment was continued already, only follow it.
        rollback = module.params["action"] == "ROLLBACK"
        finish(module, result, wait(module, client, module.params["deployment_id"], result), expect_failure=rollback)
    arn = target_deployment(module, client)
    if arn is None:
        module.fail_json(msg="no service deployment in progress: nothing to continue", **result)
    snap = snapshot(describe_deployment(client, arn))
    result.update(deployment_id=arn, status=snap["status"], deployment=snap)
    hook = paused_hook(snap)
    if hook is None:
        module.fail_json(
            msg=f"service deployment {short(arn)} ({snap['status']}, stage {snap['stage']}) is not paused at a PAUSE "
            "hook: nothing to continue (set codedeploy_manual_promote_minutes to pause before production traffic)",
            **result,
        )
    if module.check_mode:
        module.exit_json(changed=True, **result)
    client.continue_service_deployment(
        serviceDeploymentArn=arn, hookId=hook["hook_id"], action=module.params["action"], aws_retry=True
    )
    result["changed"] = True
    if module.params["wait"]:
        finish(module, result, wait(module, client, arn, result), expect_failure=module.params["action"] == "ROLLBACK")
    module.exit_json(**result)


def main():
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        service=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "stopped", "continued"], default="present"),
        task_definition=dict(type="str"),
        deployment_id=dict(type="str", aliases=["service_deployment_arn"]),
        deployment_configuration=dict(type="dict"),
        replace_active=dict(type="bool", default=False),
        stop_type=dict(type="str", choices=["ROLLBACK"], default="ROLLBACK"),
        action=dict(type="str", choices=["CONTINUE", "ROLLBACK"], default="CONTINUE"),
        wait=dict(type="bool", default=True),
        wait_for=dict(
            type="dict",
            options=dict(
                stage=dict(type="str", choices=list(STAGES)),
                paused=dict(type="bool"),
                replacement_traffic_percent=dict(type="float"),
                progress=dict(type="bool"),
            ),
        ),
        wait_timeout=dict(type="int", default=3600),
        report_every=dict(type="int", default=0),
        progress_since=dict(type="dict"),
        follow=dict(type="bool", default=False),
        on_timeout=dict(type="str", choices=["fail", "return", "rollback"], default="fail"),
        fail_on_rollback=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ecs", retry_decorator=retry_decorator())
    result = {"changed": False, "attached": False, "progress": [], "finished": True}
    try:
        {"present": ensure_present, "stopped": ensure_stopped, "continued": ensure_continued}[module.params["state"]](
            module, client, result
        )
    except LookupError as e:
        module.fail_json(msg=str(e), **result)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"ECS refused a call for service {module.params['service']}", **result)


if __name__ == "__main__":
    main()
