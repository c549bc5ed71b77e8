"""BeforeInstall (CodeDeploy) / PRE_SCALE_UP (ECS): is everything in place before the new tasks start?

Checks: the task definition exists and is ACTIVE, has the AppSpec's container and port, and an image
reference that is well formed (and not `:latest` unless ALLOW_LATEST_TAG=true); the deployment group's
target groups and listeners (ECS: and listener rules) exist; no other deployment is active in the group (ECS: of
the service).

Environment: ALLOW_LATEST_TAG (default false), HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL.
"""

from __future__ import annotations

import re

from hooks import facts as deployment_facts
from hooks.common import CheckFailed, Hook, client, env_str, handle

# registry/path/name[:tag][@sha256:digest], as Docker's reference grammar has it (lower-case path).
IMAGE_REFERENCE = re.compile(
    r"^(?:(?P<registry>[a-zA-Z0-9.-]+(?::\d+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def check_image(image: str) -> None:
    match = IMAGE_REFERENCE.match(image or "")
    if not match:
        raise CheckFailed(f"image reference {image!r} is not well formed (registry/repository:tag or @sha256:digest)")
    if not match.group("tag") and not match.group("digest"):
        raise CheckFailed(f"image {image!r} has neither a tag nor a digest: deploy an immutable reference")
    allow_latest = (env_str("ALLOW_LATEST_TAG", "false") or "false").lower() == "true"
    if match.group("tag") == "latest" and not match.group("digest") and not allow_latest:
        raise CheckFailed(f"image {image!r} uses the moving tag 'latest': a rollback could not return to it")


def check(hook: Hook) -> str:
    facts = hook.facts()
    definition = facts.task_definition
    if definition.get("status") != "ACTIVE":
        raise CheckFailed(f"task definition {facts.task_definition_arn} is {definition.get('status')}, not ACTIVE")
    container = facts.container
    ports = {mapping.get("containerPort") for mapping in container.get("portMappings", [])}
    if facts.container_port not in ports:
        raise CheckFailed(
            f"container {facts.container_name!r} maps ports {sorted(p for p in ports if p)}, not the AppSpec's "
            f"ContainerPort {facts.container_port}"
        )
    check_image(container.get("image", ""))
    hook.budget.ensure("checking the load balancer")

    owner = "the service's load balancer" if facts.controller == "ecs" else "deployment group"
    if len(facts.target_group_names) != 2:
        raise CheckFailed(f"{owner} has {len(facts.target_group_names)} target groups, not a pair of two")
    elbv2 = client("elbv2")
    try:
        found = elbv2.describe_target_groups(Names=facts.target_group_names)["TargetGroups"]
    except elbv2.exceptions.TargetGroupNotFoundException as exc:
        raise CheckFailed(f"target group missing: {exc.response['Error'].get('Message', exc)}") from None
    missing = sorted(set(facts.target_group_names) - {tg["TargetGroupName"] for tg in found})
    if missing:
        raise CheckFailed(f"target group(s) {missing} do not exist")
    listeners = facts.prod_listener_arns + facts.test_listener_arns
    if not facts.prod_listener_arns:
        raise CheckFailed(f"{owner} has no production listener")
    try:
        described = elbv2.describe_listeners(ListenerArns=listeners)["Listeners"]
    except elbv2.exceptions.ListenerNotFoundException as exc:
        raise CheckFailed(f"listener missing: {exc.response['Error'].get('Message', exc)}") from None
    if len(described) != len(set(listeners)):
        raise CheckFailed(f"only {len(described)} of the {len(set(listeners))} listeners exist ({owner})")
    if facts.listener_rule_arns:
        # ECS shifts traffic by rewriting these rules' forward weights: they must exist.
        try:
            elbv2.describe_rules(RuleArns=facts.listener_rule_arns)
        except elbv2.exceptions.RuleNotFoundException as exc:
            raise CheckFailed(f"listener rule missing: {exc.response['Error'].get('Message', exc)}") from None

    others = deployment_facts.other_active_deployments(facts)
    if others:
        where = f"service {facts.service}" if facts.controller == "ecs" else facts.deployment_group_name
        raise CheckFailed(f"deployment(s) {', '.join(others)} also active in {where}")
    return (
        f"{facts.task_definition_arn} ACTIVE, image {container.get('image')}, version {facts.version}; "
        f"target groups {', '.join(facts.target_group_names)} and {len(described)} listener(s) exist"
    )


def handler(event, context):
    return handle("validate-before-install", event, context, check)
