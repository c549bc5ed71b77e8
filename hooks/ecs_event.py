"""The ECS-native adapter: ECS's lifecycle hook protocol in front of the same checks CodeDeploy runs.

The event (ECS developer guide, "Lifecycle hooks for Amazon ECS service deployments" and "Lambda hooks for Amazon
ECS service deployments"; the shape the sandbox sends is recorded in docs/dev/fidelity-ledger.md):

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

An adapter: imports hooks.common and hooks.facts (which tells the checks the service revision's facts), and
hooks/handler.py picks it for an event of this shape.
"""

from __future__ import annotations

import logging
import time

from hooks import facts as deployment_facts
from hooks.common import Budget, CheckFailed, Hook, Pending, env_float, log, logger

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
