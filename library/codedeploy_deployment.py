#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: codedeploy_deployment
short_description: Create, wait on, stop or continue an ECS blue/green deployment in AWS CodeDeploy
description:
  - O(state=present) creates a deployment of an AppSpec (ECS compute platform) and, with O(wait), waits
    for it, reporting each lifecycle event and traffic step it saw.
  - Idempotent. When a deployment of the same revision (same AppSpec sha256) is active in the group, or
    is the group's last deployment and succeeded, it attaches to it instead of creating another. When a
    different revision is active it fails naming that deployment, unless O(replace_active=true), which
    stops it with rollback first.
  - A deployment that failed, was stopped or was rolled back fails the task (unless
    O(fail_on_rollback=false)), naming the lifecycle event that failed and its diagnostic.
  - O(state=stopped) stops an active deployment, with or without rollback, and can wait for the rollback.
  - O(state=continued) continues a deployment that waits at Ready (a manual promote), or skips the wait
    before the original task set is terminated.
version_added: 0.1.0
author: ecs-bluegreen-ops maintainers
options:
  application_name:
    description: The CodeDeploy application.
    type: str
    required: true
  deployment_group_name:
    description:
      - The deployment group. Required with O(state=present), and to find the active deployment when
        O(deployment_id) is not given.
    type: str
  deployment_id:
    description:
      - The deployment to stop or continue. Unset = the group's active deployment.
      - With O(state=present), follow this deployment (wait on it and report it) instead of creating one.
    type: str
  state:
    description: What to do.
    type: str
    choices: [present, stopped, continued]
    default: present
  appspec_content:
    description:
      - The AppSpec, as a JSON or YAML string, or as the dictionary RV(ecs_appspec.appspec) returns
        (sent as JSON). Required with O(state=present).
    type: raw
  deployment_config_name:
    description: Overrides the group's deployment config for this deployment.
    type: str
  description:
    description: Description of the deployment (at most 100 characters are kept by CodeDeploy's console).
    type: str
  auto_rollback:
    description: Overrides the group's automatic rollback for this deployment.
    type: dict
    suboptions:
      enabled:
        description: Whether to roll back automatically.
        type: bool
        required: true
      events:
        description: The events that roll back.
        type: list
        elements: str
        choices: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST]
        default: [DEPLOYMENT_FAILURE]
  replace_active:
    description:
      - When a deployment of another revision is active in the group, stop it with rollback, wait for the
        rollback, then create this one. Without it, the task fails and names the active deployment.
    type: bool
    default: false
  rollback:
    description: With O(state=stopped), route traffic back to the original task set.
    type: bool
    default: true
  wait_type:
    description:
      - With O(state=continued). V(ready_wait) releases a deployment waiting at Ready (promote);
        V(termination_wait) skips the wait before the original task set is terminated.
    type: str
    choices: [ready_wait, termination_wait]
    default: ready_wait
  wait:
    description: Wait for the deployment (see O(wait_for)) before returning.
    type: bool
    default: true
  wait_for:
    description:
      - Where to stop waiting. Unset = a terminal status (Succeeded, Failed, Stopped, after any rollback).
      - A terminal status always ends the wait.
    type: dict
    suboptions:
      status:
        description: Wait until the deployment waits at V(Ready) (the group must stop at Ready).
        type: str
        choices: [Ready]
      lifecycle_event:
        description: Wait until this lifecycle event reached O(wait_for.lifecycle_event_status).
        type: str
        choices: [BeforeInstall, Install, AfterInstall, AllowTestTraffic, AfterAllowTestTraffic,
                  BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic]
      lifecycle_event_status:
        description: V(reached) = started or finished; V(succeeded) = finished successfully.
        type: str
        choices: [reached, succeeded]
        default: succeeded
      replacement_traffic_percent:
        description: Wait until the replacement (green) task set has at least this share of production traffic.
        type: int
      progress:
        description:
          - Return at the first observable change (status, lifecycle event, traffic weight). With
            O(on_timeout=return) and a short O(wait_timeout), a playbook loop reports progress as it happens.
        type: bool
        default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 3600
  report_every:
    description:
      - Return as soon as there is progress to report, or after this many seconds, with RV(finished=false)
        while the wait is not over; call again with O(deployment_id) to go on. The action plugin of the
        same name does this loop itself and prints each change as it happens, so a job log is never
        silent for longer than this.
    type: int
  progress_since:
    description:
      - The RV(deployment) returned by the previous step of a O(report_every) loop, so that this step also
        reports what changed between the two. Set by the action plugin.
    type: dict
  follow:
    description:
      - A later step of a O(report_every) loop, whose earlier step took the action of O(state) (create, stop,
        continue). Only wait on O(deployment_id) and end with that state's meaning (a rollback is the expected
        end of V(stopped)). Set by the action plugin.
    type: bool
    default: false
  on_timeout:
    description:
      - What to do when O(wait_timeout) passes first. V(fail) fails and leaves the deployment running;
        V(rollback) stops it with rollback (and waits for the rollback); V(return) returns its current
        state without failing (RV(timed_out) tells).
    type: str
    choices: [fail, rollback, return]
    default: fail
  fail_on_rollback:
    description: Fail the task when the deployment failed, was stopped or was rolled back.
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode (predicts whether a deployment would be created, attached to, stopped or
    continued) and diff mode (the group's current revision against the new one).
  - Polls GetDeployment every 0.5 to 2 seconds, so a terminal status is seen within 2 seconds; reads
    lifecycle events and task sets (two more calls) only when something changed or every few seconds.
"""

EXAMPLES = r"""
- name: Deploy the new revision and wait, failing with the reason on rollback
  codedeploy_deployment:
    application_name: orders
    deployment_group_name: orders-prod
    appspec_content: "{{ appspec.appspec }}"
    description: "orders {{ image_tag }}"
    wait_timeout: 5400
  register: deployment

- name: Start it, then come back at each change (a progress loop in a playbook)
  codedeploy_deployment:
    application_name: orders
    deployment_group_name: orders-prod
    appspec_content: "{{ appspec.appspec }}"
    wait_for:
      progress: true
    wait_timeout: 60
    on_timeout: return

- name: Promote a deployment that waits at Ready
  codedeploy_deployment:
    application_name: orders
    deployment_group_name: orders-prod
    state: continued

- name: Stop the active deployment and roll back
  codedeploy_deployment:
    application_name: orders
    deployment_group_name: orders-prod
    state: stopped
    rollback: true
"""

RETURN = r"""
deployment_id:
  description: The deployment created, attached to, stopped or continued.
  returned: when there is one
  type: str
  sample: d-ABCDEF123
status:
  description: Its status when the module returned.
  returned: when there is one
  type: str
  sample: Succeeded
replacement_task_failure:
  description:
    - When Install failed, why the replacement task set's tasks stopped, as ECS reports it (stoppedReason and exit
      code, e.g. ResourceInitializationError naming a secret); CodeDeploy itself only says the task set did not
      become steady.
    - Needs C(ecs:ListTasks) and C(ecs:DescribeTasks) in the service's cluster; without them the task warns and goes on.
  returned: when Install failed and ECS still has the stopped tasks
  type: str
alarm_failure_reason:
  description:
    - When alarms stopped the deployment (ALARM_ACTIVE), why each fired (its StateReason when it went to ALARM,
      from its history, as it may be OK again once traffic is back) and its target group's requests and 5XX
      answers during the deployment, as CloudWatch holds them; CodeDeploy itself only names the alarms.
    - Needs C(cloudwatch:DescribeAlarms), C(cloudwatch:DescribeAlarmHistory) and C(cloudwatch:GetMetricStatistics);
      without them the task warns and goes on.
  returned: when alarms stopped the deployment
  type: str
  sample: >-
    orders-prod-error-rate-green - Threshold Crossed - 1 out of the last 1 datapoints [30 (29/11/26 06:40:00)] was
    greater than the threshold (5) ... Target group orders-prod-green since 06:39:12 UTC - 212 requests, 61
    answered 5XX or refused (28.8 %)
hook_failure_reason:
  description:
    - Why the failed lifecycle hook failed, as its Lambda function logged it for this deployment
      (CloudWatch Logs, C(/aws/lambda/<function>)); CodeDeploy itself only records that the hook reported Failed.
    - Needs C(logs:FilterLogEvents) on the hook functions' log groups; without it the task warns and goes on.
  returned: when a hook failed and its log names the reason
  type: str
  sample: "orders-prod-validate-test-traffic: GET /ready on the test listener: answered 503 (still so after 60s)"
attached:
  description: True when an existing deployment of the same revision was used instead of a new one.
  returned: with state=present
  type: bool
reached:
  description: True when the O(wait_for) point was reached.
  returned: when waiting
  type: bool
timed_out:
  description: True when O(wait_timeout) passed first.
  returned: when waiting
  type: bool
finished:
  description: False when O(report_every) made the module return before the wait was over.
  returned: when waiting
  type: bool
progress:
  description: Each change seen while waiting, in order.
  returned: when waiting
  type: list
  elements: dict
  sample: [{"elapsed_seconds": 12.5, "time": "2026-11-27T10:00:12+00:00", "message": "AfterInstall Succeeded in 8s"}]
api_calls:
  description: CodeDeploy API calls made while waiting.
  returned: when waiting
  type: int
deployment:
  description: The deployment.
  returned: when there is one
  type: dict
  contains:
    deployment_id:
      description: Its id.
      type: str
    status:
      description: Created, Queued, InProgress, Baking, Ready, Succeeded, Failed or Stopped.
      type: str
    revision_sha256:
      description: SHA-256 of its AppSpec content.
      type: str
    appspec_content:
      description: Its AppSpec content, as sent.
      type: str
    task_definition_arn:
      description: The task definition its AppSpec deploys.
      type: str
    is_rollback:
      description: True when CodeDeploy created it to roll another deployment back.
      type: bool
    error_information:
      description: C(code) and C(message) when it failed.
      type: dict
    rollback_info:
      description:
        - C(rollback_deployment_id) (the deployment that rolled this one back) with
          C(rollback_deployment_status), or C(rollback_triggering_deployment_id), and C(rollback_message).
      type: dict
    lifecycle_events:
      description: Each lifecycle event with C(status), C(start_time), C(end_time), C(duration_seconds), C(diagnostics).
      type: list
      elements: dict
    task_sets:
      description: The original (C(Blue)) and replacement (C(Green)) task sets with C(traffic_weight) and counts.
      type: list
      elements: dict
    traffic:
      description: Production traffic share in percent, C(original) and C(replacement).
      type: dict
      sample: {"original": 90.0, "replacement": 10.0}
    timings:
      description: Create, start and complete times, total and per-event durations in seconds.
      type: dict
"""

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.codedeploy import (
    ACTIVE_STATUSES,
    AUTO_ROLLBACK_EVENTS,
    LIFECYCLE_EVENTS,
    TERMINAL_STATUSES,
    DeploymentWatcher,
    alarm_failure_reason,
    appspec_of,
    deployments_of_group,
    event_status,
    failed_event,
    failure_message,
    get_deployment,
    get_ecs_targets,
    hook_failure_reason,
    hook_function,
    is_failure,
    replacement_task_failure,
    retry_decorator,
    revision_sha256,
    snapshot,
    wait_condition,
)
from ansible.module_utils.deployment_wait import wait_as_asked
from ansible.module_utils.ecs_appspec import AppSpecError, parse, render_json, sha256, task_definition_of
from ansible.module_utils.model.alarms import activated_alarms
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule


def appspec_content(module):
    raw = module.params["appspec_content"]
    if raw is None or raw == "":
        module.fail_json(msg="appspec_content is required with state=present: pass ecs_appspec's appspec or content")
    content = render_json(raw) if isinstance(raw, dict) else str(raw)
    try:
        parsed = parse(content)
    except (AppSpecError, ValueError) as exc:
        module.fail_json(msg=f"appspec_content is not a JSON or YAML AppSpec: {exc}")
    if not task_definition_of(parsed):
        module.fail_json(
            msg="appspec_content has no Resources[].TargetService of Type AWS::ECS::Service with a TaskDefinition; "
            "render it with the ecs_appspec module"
        )
    return content, parsed


def read_appspec(module, client, info):
    """The AppSpec a deployment deployed (GetDeployment never returns it: GetApplicationRevision)."""
    if info is None:
        return None
    try:
        return appspec_of(client, info)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to read the AppSpec of deployment {info.get('deploymentId')}")


def describe_revision(content):
    try:
        return task_definition_of(parse(content)) if content else None
    except (AppSpecError, ValueError):
        return None


def find_active(module, client):
    try:
        return deployments_of_group(
            client, module.params["application_name"], module.params["deployment_group_name"], ACTIVE_STATUSES
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Unable to list the active deployments of the deployment group")


def last_attempted(module, client):
    try:
        group = client.get_deployment_group(
            applicationName=module.params["application_name"],
            deploymentGroupName=module.params["deployment_group_name"],
            aws_retry=True,
        )["deploymentGroupInfo"]
    except client.exceptions.DeploymentGroupDoesNotExistException:
        module.fail_json(
            msg=f"Deployment group {module.params['deployment_group_name']} of application "
            f"{module.params['application_name']} does not exist: provision the environment first"
        )
    except client.exceptions.ApplicationDoesNotExistException:
        module.fail_json(
            msg=f"Application {module.params['application_name']} does not exist: provision the environment first"
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Unable to get the deployment group")
    deployment_id = (group.get("lastAttemptedDeployment") or {}).get("deploymentId")
    if not deployment_id:
        return None
    try:
        return get_deployment(client, deployment_id)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to get deployment {deployment_id}")


def create(module, client, content, digest):
    params = module.params
    request = {
        "applicationName": params["application_name"],
        "deploymentGroupName": params["deployment_group_name"],
        "revision": {
            "revisionType": "AppSpecContent",
            "appSpecContent": {"content": content, "sha256": digest},
        },
    }
    if params["deployment_config_name"]:
        request["deploymentConfigName"] = params["deployment_config_name"]
    if params["description"]:
        request["description"] = params["description"]
    if params["auto_rollback"] is not None:
        rollback = params["auto_rollback"]
        request["autoRollbackConfiguration"] = {
            "enabled": rollback["enabled"],
            "events": list(rollback["events"]) if rollback["enabled"] else [],
        }
    try:
        return client.create_deployment(aws_retry=True, **request)["deploymentId"]
    except client.exceptions.DeploymentLimitExceededException as e:
        module.fail_json_aws(
            e,
            msg="Unable to create the deployment: another deployment became active in the group meanwhile; "
            "run again to attach to it or replace it",
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Unable to create the deployment")


def stop(module, client, deployment_id, rollback):
    try:
        return client.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=rollback, aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to stop deployment {deployment_id}")


def wait(module, client, deployment_id, result):
    """Wait as the options say (module_utils/deployment_wait.py); fills result; returns the last snapshot."""
    return wait_as_asked(
        module,
        DeploymentWatcher(client, deployment_id),
        deployment_id,
        result,
        wait_for=wait_condition(module.params["wait_for"]),
        what=f"deployment {deployment_id}",
        roll_back=lambda: stop(module, client, deployment_id, rollback=True),
        failure_message=failure_message,
    )


def finish(module, result, snap, expect_failure=False):
    if snap is not None and is_failure(snap) and not expect_failure and module.params["fail_on_rollback"]:
        message = failure_message(snap)
        event = failed_event(snap)
        name = event["lifecycle_event_name"] if event else None
        # Why it failed, where CodeDeploy does not say: the failed hook's log, the replacement tasks' stop reason.
        explanations = (
            (bool(name and hook_function(snap, name)), "hook_failure_reason", "The hook said", "logs",
             hook_failure_reason, "the failed hook's log for its reason"),
            (name == "Install", "replacement_task_failure", "ECS says", "ecs",
             replacement_task_failure, "why the replacement tasks stopped"),
            (bool(activated_alarms(snap["error_information"].get("message", ""))), "alarm_failure_reason",
             "CloudWatch says",
             "cloudwatch", alarm_failure_reason, "why the alarms fired"),
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


def replace_active(module, client, blocking, result):
    """Another revision is active: fail naming it, or (replace_active) stop it with rollback and wait."""
    params = module.params
    described = describe_revision(read_appspec(module, client, blocking)) or "another revision"
    if not params["replace_active"]:
        module.fail_json(
            msg=f"Deployment {blocking['deploymentId']} ({blocking['status']}, {described}) is active in "
            f"deployment group {params['deployment_group_name']}: only one deployment can run at a time. "
            "Wait for it, stop it (state=stopped), or set replace_active=true to stop it with rollback "
            "and deploy this revision.",
            active_deployment_id=blocking["deploymentId"],
            **result,
        )
    result["changed"] = True
    result["replaced_deployment_id"] = blocking["deploymentId"]
    if module.check_mode:
        module.exit_json(**result)
    stop(module, client, blocking["deploymentId"], rollback=True)
    watch = DeploymentWatcher(client, blocking["deploymentId"])
    stopped, _timeline, _reached, timed_out = watch.wait(lambda s, t: False, params["wait_timeout"])
    if timed_out:
        module.fail_json(
            msg=f"Stopped deployment {blocking['deploymentId']}, but it (or its rollback) had not finished "
            f"after {params['wait_timeout']}s; nothing new was deployed",
            **result,
        )
    result["replaced_deployment"] = stopped


def ensure_present(module, client):
    params = module.params
    if params["deployment_id"]:
        follow(module, client, {"changed": False})
    if not params["deployment_group_name"]:
        module.fail_json(msg="deployment_group_name is required with state=present")
    content, parsed = appspec_content(module)
    digest = sha256(content)
    new_task_definition = task_definition_of(parsed)
    result = {"changed": False, "attached": False}

    last = last_attempted(module, client)
    last_digest = revision_sha256(last)
    if module._diff:
        result["diff"] = {
            "before": {
                "revision_sha256": last_digest,
                "task_definition": describe_revision(read_appspec(module, client, last)),
            },
            "after": {"revision_sha256": digest, "task_definition": new_task_definition},
        }

    active = find_active(module, client)
    same = [info for info in active if revision_sha256(info) == digest]
    other = [info for info in active if revision_sha256(info) != digest]
    deployment_id = None
    if same:
        deployment_id, result["attached"] = same[0]["deploymentId"], True
    elif other:
        replace_active(module, client, other[0], result)
    elif (
        last is not None
        and last.get("status") == "Succeeded"
        and last.get("creator") != "codeDeployRollback"  # a rollback restores a revision; it did not deploy it
        and last_digest == digest
    ):
        deployment_id, result["attached"] = last["deploymentId"], True

    if deployment_id is None:
        result["changed"] = True
        if module.check_mode:
            module.exit_json(**result)
        deployment_id = create(module, client, content, digest)

    result["deployment_id"] = deployment_id
    report(module, client, deployment_id, result)


def follow(module, client, result):
    """state=present with deployment_id: wait on that deployment and report it; create nothing."""
    result.update(deployment_id=module.params["deployment_id"], attached=True)
    report(module, client, module.params["deployment_id"], result)


def report(module, client, deployment_id, result):
    """Wait (unless told not to, or in check mode), then exit with the deployment, failing on a rollback."""
    if module.check_mode or not module.params["wait"]:
        try:
            info = get_deployment(client, deployment_id)
            snap = snapshot(info, appspec=appspec_of(client, info))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Unable to get deployment {deployment_id}", **result)
        result.update(status=snap["status"], deployment=snap)
        finish(module, result, snap)
    finish(module, result, wait(module, client, deployment_id, result))


def target_deployment(module, client):
    """The deployment named by deployment_id, or the group's active one (None when there is none)."""
    params = module.params
    if params["deployment_id"]:
        try:
            return get_deployment(client, params["deployment_id"])
        except client.exceptions.DeploymentDoesNotExistException:
            module.fail_json(msg=f"Deployment {params['deployment_id']} does not exist")
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg=f"Unable to get deployment {params['deployment_id']}")
    if not params["deployment_group_name"]:
        module.fail_json(msg="Give deployment_id, or deployment_group_name to act on the group's active deployment")
    active = find_active(module, client)
    return active[0] if active else None


def ensure_stopped(module, client):
    info = target_deployment(module, client)
    if info is None:
        module.exit_json(changed=False, msg="No active deployment in the group: nothing to stop")
    result = {"changed": False, "deployment_id": info["deploymentId"], "status": info["status"]}
    if info["status"] in TERMINAL_STATUSES and not module.params["follow"]:
        result.update(
            deployment=snapshot(info, appspec=read_appspec(module, client, info)),
            msg=f"Deployment {info['deploymentId']} already ended {info['status']}",
        )
        module.exit_json(**result)
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)
    if not module.params["follow"]:
        response = stop(module, client, info["deploymentId"], module.params["rollback"])
        result["stop_status"] = response.get("status")
        result["stop_message"] = response.get("statusMessage")
    if not module.params["wait"]:
        module.exit_json(**result)
    snap = wait(module, client, info["deploymentId"], result)
    rollback = snap["rollback_info"]
    if rollback.get("rollback_deployment_id") and rollback.get("rollback_deployment_status") != "Succeeded":
        module.fail_json(msg=failure_message(snap), **result)
    finish(module, result, snap, expect_failure=True)


def ensure_continued(module, client):
    info = target_deployment(module, client)
    if info is None:
        module.fail_json(msg="No active deployment in the group: nothing to continue")
    deployment_id, status = info["deploymentId"], info["status"]
    result = {"changed": False, "deployment_id": deployment_id, "status": status}
    wait_type = module.params["wait_type"]
    if module.params["follow"]:
        finish(module, result, wait(module, client, deployment_id, result))
    if wait_type == "ready_wait":
        if status != "Ready":
            snap = snapshot(info, _targets(module, client, deployment_id), appspec=read_appspec(module, client, info))
            promoted = (
                event_status(snap, "AllowTraffic") is not None and event_status(snap, "AllowTraffic") != "Pending"
            )
            if status == "Succeeded" or (status in ACTIVE_STATUSES and promoted):
                result.update(deployment=snap, msg=f"Deployment {deployment_id} is past Ready already ({status})")
                module.exit_json(**result)
            module.fail_json(
                msg=f"Deployment {deployment_id} is {status}, not waiting at Ready: "
                + (failure_message(snap) if status in TERMINAL_STATUSES else "promote it once it reaches Ready"),
                **result,
            )
    else:
        if status in TERMINAL_STATUSES and not info.get("instanceTerminationWaitTimeStarted"):
            module.exit_json(msg=f"Deployment {deployment_id} ended {status}: no termination wait to skip", **result)
        if not info.get("instanceTerminationWaitTimeStarted"):
            module.fail_json(
                msg=f"Deployment {deployment_id} is {status} and has not started waiting to terminate the "
                "original task set yet",
                **result,
            )
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)
    try:
        client.continue_deployment(deploymentId=deployment_id, deploymentWaitType=wait_type.upper(), aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to continue deployment {deployment_id}")
    if not module.params["wait"]:
        module.exit_json(**result)
    snap = wait(module, client, deployment_id, result)
    finish(module, result, snap)


def _targets(module, client, deployment_id):
    try:
        return get_ecs_targets(client, deployment_id)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Unable to read the targets of deployment {deployment_id}")


def main():
    argument_spec = dict(
        application_name=dict(type="str", required=True),
        deployment_group_name=dict(type="str"),
        deployment_id=dict(type="str"),
        state=dict(type="str", choices=["present", "stopped", "continued"], default="present"),
        appspec_content=dict(type="raw"),
        deployment_config_name=dict(type="str"),
        description=dict(type="str"),
        auto_rollback=dict(
            type="dict",
            options=dict(
                enabled=dict(type="bool", required=True),
                events=dict(
                    type="list", elements="str", choices=list(AUTO_ROLLBACK_EVENTS), default=["DEPLOYMENT_FAILURE"]
                ),
            ),
        ),
        replace_active=dict(type="bool", default=False),
        rollback=dict(type="bool", default=True),
        wait_type=dict(type="str", choices=["ready_wait", "termination_wait"], default="ready_wait"),
        wait=dict(type="bool", default=True),
        wait_for=dict(
            type="dict",
            options=dict(
                status=dict(type="str", choices=["Ready"]),
                lifecycle_event=dict(type="str", choices=list(LIFECYCLE_EVENTS)),
                lifecycle_event_status=dict(type="str", choices=["reached", "succeeded"], default="succeeded"),
                replacement_traffic_percent=dict(type="int"),
                progress=dict(type="bool", default=False),
            ),
            mutually_exclusive=[["status", "lifecycle_event", "replacement_traffic_percent", "progress"]],
        ),
        wait_timeout=dict(type="int", default=3600),
        report_every=dict(type="int"),
        progress_since=dict(type="dict"),
        on_timeout=dict(type="str", choices=["fail", "rollback", "return"], default="fail"),
        fail_on_rollback=dict(type="bool", default=True),
        follow=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
    )
    wait_for = module.params["wait_for"] or {}
    percent = wait_for.get("replacement_traffic_percent")
    if percent is not None and not 0 < percent <= 100:
        module.fail_json(msg=f"wait_for.replacement_traffic_percent must be 1 to 100, got {percent}")
    if module.params["report_every"] is not None and module.params["report_every"] <= 0:
        module.fail_json(msg=f"report_every must be a positive number of seconds, got {module.params['report_every']}")
    if module.params["wait_timeout"] <= 0:
        module.fail_json(msg=f"wait_timeout must be a positive number of seconds, got {module.params['wait_timeout']}")
    if module.params["description"] and len(module.params["description"]) > 1024:
        module.fail_json(msg="description takes at most 1024 characters")

    client = module.client("codedeploy", retry_decorator=retry_decorator())
    {"present": ensure_present, "stopped": ensure_stopped, "continued": ensure_continued}[module.params["state"]](
        module, client
    )


if __name__ == "__main__":
    main()
