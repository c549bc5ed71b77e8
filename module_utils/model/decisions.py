"""Decisions the playbooks take, in Python so that they can be unit-tested (tests/unit/test_decisions.py).

Pure Python, no Ansible: used through filters (filter_plugins/bluegreen.py).
"""

from __future__ import annotations


class DecisionError(ValueError):
    """The decision cannot be taken; the message says why and what to do."""


def rollback_target(succeeded: list[dict], serving: str | None = None, redeployable=None) -> dict:
    """The deployment to redeploy to roll back, from a service's successful deployments, newest first.

    `serving` is the task definition production serves (by default the newest successful deployment's). The target
    is the newest deployment of another task definition: redeploying the same revision (a re-deploy of what serves,
    or a deploy that was itself a rollback to it) would change nothing. `redeployable(deployment)` passes over one
    that cannot be deployed again (a CodeDeploy deployment whose AppSpec cannot be read).
    """
    if not succeeded:
        raise DecisionError("The service has no successful deployment: nothing to roll back to")
    serving = serving or succeeded[0].get("task_definition_arn")
    for deployment in succeeded:
        revision = deployment.get("task_definition_arn")
        if revision and revision != serving and (redeployable is None or redeployable(deployment)):
            return deployment
    raise DecisionError(
        f"No earlier successful revision than {serving or '(unknown)'} among the last {len(succeeded)} successful "
        "deployments: nothing to roll back to"
    )


# Set by the task definition itself from the image tag and the container port, not by the inventory.
_DERIVED_ENVIRONMENT = ("APP_VERSION", "PORT")


def task_definition_drift(serving: dict, wanted: dict) -> list[str]:
    """What an inventory asks for that the serving task definition does not have (a deployment applies it).

    `serving` is community.aws.ecs_taskdefinition_info's result (snake_case keys); `wanted` has cpu, memory,
    image_repository, environment (name -> value) and secrets (name -> full ARN). Empty: nothing differs.
    """
    container = (serving.get("container_definitions") or [{}])[0]
    drift = []
    if str(serving.get("cpu", "")) != str(wanted["cpu"]):
        drift.append("cpu")
    if str(serving.get("memory", "")) != str(wanted["memory"]):
        drift.append("memory")
    if not str(container.get("image", "")).startswith(f"{wanted['image_repository']}:"):
        drift.append("image repository")
    environment = {
        item["name"]: item["value"]
        for item in container.get("environment") or []
        if item["name"] not in _DERIVED_ENVIRONMENT
    }
    if environment != {name: str(value) for name, value in wanted["environment"].items()}:
        drift.append("environment")
    secrets = {item["name"]: item.get("value_from", item.get("valueFrom")) for item in container.get("secrets") or []}
    if secrets != dict(wanted["secrets"]):
        drift.append("secrets")
    return drift
