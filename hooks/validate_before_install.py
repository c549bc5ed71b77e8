"""BeforeInstall (CodeDeploy) / PRE_SCALE_UP (ECS): is everything in place before the new tasks start?

Checks: the task definition to be installed exists and is ACTIVE, has the container and port traffic will be routed
to, and an image reference that is well formed (and not `:latest` unless ALLOW_LATEST_TAG=true); the deployment
group's target groups and listeners (ECS: and listener rules) exist; no other deployment is active in the group
(ECS: of the service).

Under CodeDeploy only the AppSpec names the task definition, container and port before Install (hooks/facts.py). A
deployment whose AppSpec cannot be read (created without a sha256, or in YAML) is checked for the rest, and the
summary says the task definition was not, and why (facts.py logs it as a warning too): AfterInstall checks the
container, port and image of the task set ECS runs.

Environment: ALLOW_LATEST_TAG (default false), HOOK_TIME_BUDGET_SECONDS, LOG_LEVEL.
"""

from __future__ import annotations

from hooks import facts as deployment_facts
from hooks.common import CheckFailed, Hook, client
from hooks.handler import handle


def check_task_definition(facts) -> str:
    """The task definition to be installed: ACTIVE, with the container, port and image (a summary line), or, when
    nothing says which one it is before Install, what was not checked and why."""
    if facts.appspec_problem and not facts.task_definition_arn:
        return (
            f"task definition not checked before Install ({facts.appspec_problem}): AfterInstall checks the "
            "replacement task set's"
        )
    definition = facts.task_definition
    if definition.get("status") != "ACTIVE":
        raise CheckFailed(f"task definition {facts.task_definition_arn} is {definition.get('status')}, not ACTIVE")
    container = deployment_facts.check_container(facts)
    return f"{facts.task_definition_arn} ACTIVE, image {container.get('image')}, version {facts.version}"


def check(hook: Hook) -> str:
    facts = hook.facts()
    checked = check_task_definition(facts)
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
    return f"{checked}; target groups {', '.join(facts.target_group_names)} and {len(described)} listener(s) exist"


def handler(event, context):
    return handle("validate-before-install", event, context, check)
