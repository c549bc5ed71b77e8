"""The ECS-native adapter: ECS's lifecycle hook protocol in front of the same checks CodeDeploy runs.

The event (ECS developer guide, "Lifecycle hooks for Amazon ECS service deployments" and "Lambda hooks for Amazon
ECS service deployments"; the shape the sandbox sends is recorded in docs/fidelity-ledger.md):

    {"executionId": "...", "lifecycleStage": "POST_SCALE_UP",
     "resourceArn": "arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<id>",
     "executionDetails": {"serviceArn": "...", "targetServiceRevisionArn": "...",
                          "testTrafficWeights": {<revision ARN>: <percent>},
                          "productionTrafficWeights": {<revision ARN>: <percent>}},
     "hookDetails": {...}}

The guide's per-stage examples show the four common fields; `executionDetails` holds them (a payload with them at
the top level is read too). The function RETURNS its status: `{"hookStatus": "SUCCEEDED"}`, `{"hookStatus":
"FAILED"}`, or `{"hookStatus": "IN_PROGRESS", "callBackDelay": <seconds>, "hookDetails": {...}}`, after which ECS
invokes it again with those hookDetails: a check that is not done yet (hooks.common.Pending) is polled that way,
so a migration is never held in one invocation. A polled check's deadline spans its invocations: the first one's
time travels in hookDetails, and a check still pending past it fails.
"""

from __future__ import annotations

import logging
import time

from hooks import facts as deployment_facts
from hooks.common import Budget, CheckFailed, Hook, Pending, client, env_float, log, logger

STATE_KEY = "bluegreen"


def _details(event: dict) -> dict:
    details = event.get("executionDetails")
    if isinstance(details, dict):
        return details
    return {key: event[key] for key in ("serviceArn", "targetServiceRevisionArn") if key in event}


def run_ecs_hook(name: str, event: dict, context, check) -> dict:
    details = _details(event)
    try:
        stage = event["lifecycleStage"]
        deployment_arn = event["resourceArn"]
        service_arn = details["serviceArn"]
        target_revision_arn = details["targetServiceRevisionArn"]
    except (KeyError, TypeError):
        keys = sorted(event) if isinstance(event, dict) else type(event).__name__
        log(logging.ERROR, "not an ECS lifecycle hook event", hook=name, keys=keys)
        # An error is a failure to ECS: it rolls the deployment back (nothing else can be reported).
        raise ValueError(
            f"{name}: expected an ECS lifecycle hook event with lifecycleStage, resourceArn and executionDetails "
            f"{{serviceArn, targetServiceRevisionArn}}, got keys {keys}"
        ) from None

    carried = ((event.get("hookDetails") or {}) if isinstance(event.get("hookDetails"), dict) else {}).get(STATE_KEY)
    carried = carried if isinstance(carried, dict) else {}
    since = float(carried.get("since") or time.time())
    deployment_id = deployment_arn.rsplit("/", 1)[-1]
    result: dict = {"hookStatus": "FAILED"}
    reason = summary = None
    budget = None
    try:
        budget = Budget.for_invocation(context)
        # A polled check's whole life, over all of its invocations.
        deadline = env_float("HOOK_POLL_DEADLINE_SECONDS", env_float("HOOK_TIME_BUDGET_SECONDS", 600.0))
        log(
            logging.INFO,
            "started",
            hook=name,
            deployment_id=deployment_id,
            stage=stage,
            invocation=int(carried.get("invocation", 0)) + 1,
            budget_seconds=round(budget.seconds, 1),
        )
        hook = Hook(
            name,
            deployment_id,
            event.get("executionId", ""),
            budget,
            controller="ecs",
            load_facts=lambda with_task_definition: deployment_facts.load_ecs(
                service_arn, target_revision_arn, deployment_arn, with_task_definition
            ),
            state=dict(carried.get("check") or {}),
            stage=stage,
            deployment_arn=deployment_arn,
        )
        try:
            summary = check(hook)
            result = {"hookStatus": "SUCCEEDED"}
        except Pending as pending:
            waited = time.time() - since
            if waited + pending.retry_after > deadline:
                raise CheckFailed(
                    f"{pending} (still so after {waited:.0f}s, past the deadline of {deadline:g}s)"
                ) from None
            reason = str(pending)
            result = {
                "hookStatus": "IN_PROGRESS",
                "callBackDelay": max(1, round(pending.retry_after)),
                "hookDetails": {
                    STATE_KEY: {
                        "since": since,
                        "invocation": int(carried.get("invocation", 0)) + 1,
                        "check": pending.state,
                    }
                },
            }
    except CheckFailed as exc:
        reason = str(exc)
    except Exception as exc:
        reason = f"unexpected {type(exc).__name__}: {exc}"
        logger.exception("unexpected error in %s", name)
    finally:
        status = result["hookStatus"]
        level = logging.ERROR if status == "FAILED" else logging.INFO
        log(
            level,
            {"SUCCEEDED": "Succeeded", "FAILED": "Failed", "IN_PROGRESS": "InProgress"}[status],
            hook=name,
            deployment_id=deployment_id,
            stage=stage,
            reason=reason,
            summary=summary,
            seconds=round(budget.elapsed(), 2) if budget else None,
        )
    return result


# --- the hooks of one stage, and a service's first deployment ----------------------------------------------------


def service_deployment(hook: Hook) -> dict:
    """The hook's service deployment as DescribeServiceDeployments gives it."""
    found = client("ecs").describe_service_deployments(serviceDeploymentArns=[hook.deployment_arn])
    return (found.get("serviceDeployments") or [{}])[0]


def first_deployment(deployment: dict) -> bool:
    """A service's first deployment (CreateService): ECS invokes the hooks for it too, with no source revision
    (AWS's sample hooks tell it from an update by the service's deployments; the deployment's own
    sourceServiceRevisions says the same)."""
    return not deployment.get("sourceServiceRevisions")


def wait_for_hooks(hook: Hook, deployment: dict, names: list[str], interval: float, before: str) -> None:
    """The named hooks of this stage must have SUCCEEDED before `before`: Pending while they run, failed when one of
    them failed or the deployment is stopping or rolling back."""
    if str(deployment.get("status", "")).startswith(("ROLLBACK", "STOP")):
        raise CheckFailed(f"the service deployment is {deployment['status']}: {before} not run")
    for detail in deployment.get("lifecycleHookDetails") or []:
        name = str(detail.get("targetArn", "")).rsplit(":", 1)[-1]
        if name not in names:
            continue
        if detail.get("status") in ("FAILED", "TIMED_OUT"):
            raise CheckFailed(f"hook {name} {detail['status']} at {hook.stage}: {before} not run")
        if detail.get("status") != "SUCCEEDED":
            raise Pending(f"waiting for hook {name} ({detail.get('status')}) before {before}", interval)
