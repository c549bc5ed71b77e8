#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: bluegreen_deployment
short_description: Deploy, follow, promote, stop or roll back a blue/green deployment of an ECS service
description:
  - One module whichever controller runs the service's deployments (O(controller)) - AWS CodeDeploy (a deployment of
    an AppSpec in the service's deployment group) or ECS itself (an UpdateService that starts a service deployment
    with the service's lifecycle hooks). module_utils/controllers/ holds one file per controller.
  - O(state=present) deploys O(task_definition) with the traffic plan O(traffic) and, with O(wait), waits for it,
    reporting each lifecycle event or stage, hook and traffic step it saw. Idempotent - a deployment of the same
    revision that is active (or, under CodeDeploy, the group's last one and succeeded; under ECS, the revision the
    service runs) is attached to, not started again. Another revision's active deployment fails the task, naming
    it, unless O(replace_active=true) rolls it back first.
  - A deployment that failed, was stopped or rolled back fails the task (unless O(fail_on_rollback=false)), saying
    why (the failed hook's log, the alarm's reason, the replacement tasks' stop reason) and what serves production.
  - O(state=stopped) stops the active deployment with rollback and waits for it. O(state=continued) releases a
    deployment that waits for promote.yml (CodeDeploy's Ready, ECS's PAUSE hook). O(state=rolled_back) puts
    production back on the previous version - stops the active deployment with rollback or, when none is active,
    deploys the newest earlier revision that succeeded, blue/green through the same hooks, with O(traffic).
version_added: 0.3.0
author: ecs-bluegreen-ops maintainers
options:
  state:
    description: What to do.
    type: str
    choices: [present, stopped, continued, rolled_back]
    default: present
  task_definition:
    description: The task definition ARN to deploy. Required with O(state=present).
    type: str
  placement:
    description:
      - Where the revision's tasks run and which container serves traffic. CodeDeploy takes them with each
        deployment (the AppSpec's LoadBalancerInfo, NetworkConfiguration, PlatformVersion); an ECS-native service
        keeps its own, and they are not read.
    type: dict
    suboptions:
      container_name:
        description: The container the load balancer sends traffic to.
        type: str
      container_port:
        description: Its port.
        type: int
      platform_version:
        description: The Fargate platform version.
        type: str
      network_configuration:
        description: C(subnets), C(security_groups), C(assign_public_ip), as M(ecs_appspec) takes them.
        type: dict
  traffic:
    description:
      - The traffic plan of this deployment, checked by the model (module_utils/model/traffic.py) -
        C(type) V(all_at_once), V(linear) or V(canary), C(percent), C(interval_minutes), C(bake_minutes).
        Under CodeDeploy it names the deployment config; under ECS it is the strategy sent with the deployment
        (hooks and alarms kept as provisioned). Unset = the environment's own (the group's config, the service's
        strategy).
    type: dict
  description:
    description: What the deployment is (CodeDeploy keeps it with the deployment; ECS has no such field).
    type: str
  deployment_id:
    description:
      - The deployment to follow, stop or continue (a CodeDeploy id, or a service deployment ARN). Unset = the
        active one. With O(state=present), follow it instead of starting one.
    type: str
  replace_active:
    description: Roll back another revision's active deployment, then deploy.
    type: bool
    default: false
  rollback:
    description:
      - With O(state=stopped), route production back to the original revision. V(false) (CodeDeploy only) leaves
        the traffic where it is (teardown).
    type: bool
    default: true
  wait:
    description: Wait as O(wait_for) says (default, for the end of the deployment).
    type: bool
    default: true
  wait_for:
    description: Return early, at a point of the deployment, instead of its end. A terminal status always ends it.
    type: dict
    suboptions:
      paused:
        description: Until the deployment waits for promote.yml (CodeDeploy's Ready, ECS's PAUSE hook).
        type: bool
      lifecycle_event:
        description: (CodeDeploy) until this lifecycle event reached O(wait_for.lifecycle_event_status).
        type: str
      lifecycle_event_status:
        description: V(reached) = started or finished; V(succeeded) = finished successfully.
        type: str
        choices: [reached, succeeded]
        default: succeeded
      stage:
        description: (ECS) until the service deployment is at this lifecycle stage.
        type: str
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
      - Return as soon as there is progress to report, or after this many seconds, with RV(finished=false) while
        the wait is not over. The action plugin of the same name loops on it and prints each change as it happens.
    type: int
  progress_since:
    description: Internal (the action plugin) - the RV(deployment) last reported.
    type: dict
  follow:
    description: Internal (the action plugin) - a later step; only wait on O(deployment_id), with O(state)'s meaning.
    type: bool
    default: false
  progress_file:
    description:
      - Internal (the action plugin, on a local connection) - append each change to this file as it is seen (one
        JSON object a line) and wait to the end in one run, instead of returning at each change.
    type: path
  rollback_mode:
    description: Internal (the action plugin) - what the first step of O(state=rolled_back) did, for a later step.
    type: str
    choices: [stopped, redeployed]
  on_timeout:
    description: At the timeout, V(fail) (leaving it running), V(return) its state, or V(rollback) it and fail.
    type: str
    choices: [fail, return, rollback]
    default: fail
  fail_on_rollback:
    description: A deployment that failed, was stopped or rolled back fails the task.
    type: bool
    default: true
extends_documentation_fragment:
  - bluegreen_deployments
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode (predicts whether a deployment would be started, attached to, stopped or continued) and,
    under CodeDeploy, diff mode (the group's last revision against the new one).
  - Polls every 0.5 to 2 seconds, so a terminal status is seen within 2 seconds.
"""

EXAMPLES = r"""
- name: Deploy the new revision with the environment's traffic plan, reporting each step
  bluegreen_deployment:
    controller: "{{ bluegreen_controller }}"
    names: "{{ bluegreen_names }}"
    task_definition: "{{ task_definition_arn }}"
    placement:
      container_name: web
      container_port: 8000
      network_configuration: {subnets: [subnet-1, subnet-2], security_groups: [sg-1], assign_public_ip: DISABLED}
    traffic: {type: linear, percent: 10, interval_minutes: 5, bake_minutes: 30}
    report_every: 60

- name: Promote the deployment that waits for it
  bluegreen_deployment:
    controller: ecs
    names: "{{ bluegreen_names }}"
    state: continued

- name: Put production back on the previous version, all at once
  bluegreen_deployment:
    controller: codedeploy
    names: "{{ bluegreen_names }}"
    state: rolled_back
    traffic: {type: all_at_once}
"""

RETURN = r"""
deployment_id:
  description: The deployment started, attached to, stopped or continued.
  returned: when there is one
  type: str
status:
  description: Its status in its controller's words (Succeeded, SUCCESSFUL, ROLLBACK_SUCCESSFUL, ...).
  returned: when there is one
  type: str
deployment:
  description:
    - The deployment as its controller describes it, with the keys every controller's has - C(deployment_id),
      C(status), C(state) (active, succeeded, failed, stopped, rolled_back), C(task_definition_arn), C(created),
      C(at) (its lifecycle event or stage), C(reason), C(traffic) (C(original) and C(replacement) percent),
      C(timings.duration_seconds) and C(lifecycle_seconds) (seconds per lifecycle event or stage).
  returned: when there is one
  type: dict
attached:
  description: An existing deployment of the same revision was followed instead of starting one.
  returned: with state=present
  type: bool
progress:
  description: Each change seen while waiting, in order, with the seconds since the wait began.
  returned: when waiting
  type: list
  elements: dict
reached:
  description: The O(wait_for) point was reached.
  returned: when waiting
  type: bool
timed_out:
  description: O(wait_timeout) passed first.
  returned: when waiting
  type: bool
finished:
  description: False when O(report_every) made the module return before the wait was over.
  returned: always
  type: bool
api_calls:
  description: Calls the wait made.
  returned: when waiting
  type: int
rollback_mode:
  description: With O(state=rolled_back), V(stopped) (an active deployment) or V(redeployed) (the previous revision).
  returned: with state=rolled_back
  type: str
serving:
  description: With O(state=rolled_back), the task definition production serves at the end.
  returned: with state=rolled_back, unless in check mode
  type: str
hook_failure_reason:
  description: Why the failed hook failed, as its function logged it for this deployment (C(logs:FilterLogEvents)).
  returned: when a hook failed and its log names the reason
  type: str
alarm_failure_reason:
  description: Why each alarm that ended the deployment fired, and its target group's requests meanwhile.
  returned: when alarms ended the deployment
  type: str
replacement_task_failure:
  description: (CodeDeploy, Install failed) why the replacement tasks stopped, as ECS reports it.
  returned: when Install failed and ECS still has the stopped tasks
  type: str
"""

try:
    import botocore
except ImportError:  # pragma: no cover - AnsibleAWSModule reports it
    pass

from ansible.module_utils.controllers import CONTROLLERS, controller_of
from ansible.module_utils.model.traffic import TrafficPlanError, plan
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

ARGUMENT_SPEC = dict(
    controller=dict(type="str", choices=sorted(CONTROLLERS)),
    names=dict(type="dict", required=True),
    state=dict(type="str", choices=["present", "stopped", "continued", "rolled_back"], default="present"),
    task_definition=dict(type="str"),
    placement=dict(
        type="dict",
        options=dict(
            container_name=dict(type="str"),
            container_port=dict(type="int"),
            platform_version=dict(type="str"),
            network_configuration=dict(type="dict"),
        ),
    ),
    traffic=dict(type="dict"),
    description=dict(type="str"),
    deployment_id=dict(type="str"),
    replace_active=dict(type="bool", default=False),
    rollback=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_for=dict(
        type="dict",
        options=dict(
            paused=dict(type="bool"),
            lifecycle_event=dict(type="str"),
            lifecycle_event_status=dict(type="str", choices=["reached", "succeeded"], default="succeeded"),
            stage=dict(type="str"),
            replacement_traffic_percent=dict(type="float"),
            progress=dict(type="bool"),
        ),
        # One point to wait for: the controllers' conditions would silently take the first one set.
        mutually_exclusive=[["paused", "lifecycle_event", "stage", "replacement_traffic_percent", "progress"]],
    ),
    wait_timeout=dict(type="int", default=3600),
    report_every=dict(type="int"),
    progress_since=dict(type="dict"),
    follow=dict(type="bool", default=False),
    progress_file=dict(type="path"),
    rollback_mode=dict(type="str", choices=["stopped", "redeployed"]),
    on_timeout=dict(type="str", choices=["fail", "return", "rollback"], default="fail"),
    fail_on_rollback=dict(type="bool", default=True),
)


def checked(module):
    """Bad input fails here, before any call."""
    params = module.params
    for key in ("wait_timeout", "report_every"):
        if params[key] is not None and params[key] <= 0:
            module.fail_json(msg=f"{key} must be a positive number of seconds, got {params[key]}")
    percent = (params["wait_for"] or {}).get("replacement_traffic_percent")
    if percent is not None and not 0 < percent <= 100:
        module.fail_json(msg=f"wait_for.replacement_traffic_percent must be 1 to 100, got {percent}")
    if params["description"] and len(params["description"]) > 1024:
        module.fail_json(msg="description takes at most 1024 characters")
    if params["state"] == "present" and not params["task_definition"] and not params["deployment_id"]:
        module.fail_json(msg="task_definition is required with state=present")
    if params["traffic"] is not None:
        try:
            # The bluegreen_traffic_plan filter's result carries what it derived (word, codedeploy): checked again here.
            given = {k: v for k, v in params["traffic"].items() if k not in ("word", "codedeploy")}
            params["traffic"] = plan(given, what="traffic")
        except TrafficPlanError as e:
            module.fail_json(msg=str(e))


def main():
    module = AnsibleAWSModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    checked(module)
    params = module.params
    controller = CONTROLLERS[controller_of(module)](module, params["names"])
    result = {
        "changed": False,
        "progress": [],
        "finished": True,
        "controller": controller.name,
        "lifecycle_unit": controller.lifecycle_unit,
    }
    try:
        if params["state"] == "present":
            controller.present(result, params["task_definition"], params["traffic"])
        {"stopped": controller.stopped, "continued": controller.continued, "rolled_back": controller.rolled_back}[
            params["state"]
        ](result)
    except LookupError as e:
        module.fail_json(msg=str(e), **result)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"{controller.name} refused a call for {params['names'].get('name', '')}", **result)


if __name__ == "__main__":
    main()
