"""The ARNs an environment's operator policies name: every one from the model's names of the environment's
services (module_utils/model/names.py, environment_names), the application's own and any further one."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.names import ECS_ROLES, environment_names
from .arns import Arns


@dataclass(frozen=True)
class OperatorScope:
    arns: Arns
    policy_names: dict[str, str]
    cluster: list[str]
    services: list[str]
    tasks: list[str]
    service_deployments: list[str]
    service_revisions: list[str]
    families: list[str]
    applications: list[str]
    groups: list[str]
    configs: list[str]
    functions: list[str]
    log_groups: list[str]
    hook_log_groups: list[str]
    alarms: list[str]
    secrets: list[str]
    balancers: list[str]
    target_groups: list[str]
    listeners: list[str]
    roles: list[str]
    # A role not created yet has no path IAM could know: its existence check (GetRole) is authorized on role/<name>,
    # without the path (the sandbox does the same; the ledger, IAM rows). Empty without an iam_path.
    roles_by_name: list[str]
    task_roles: list[str]
    hook_roles: list[str]
    codedeploy_roles: list[str]
    ecs_roles: list[str]
    hook_invoke_roles: list[str]


def operator_scope(names: dict, arns: Arns, path: str) -> OperatorScope:
    """names: the model's names() of any service of the environment; path: the roles' IAM path."""
    environment = environment_names(names["app"], names["env"])
    services = environment["services"]
    cluster = environment["cluster"]

    def roles(kind: str, *suffixes: str) -> list[str]:
        return [arns.role(path, service[kind][suffix]) for service in services for suffix in suffixes]

    def each(template: str, key: str) -> list[str]:
        return [template.format(service[key]) for service in services]

    return OperatorScope(
        arns=arns,
        policy_names=environment["operator_policies"],
        cluster=arns.each("ecs", f"cluster/{cluster}"),
        services=arns.each("ecs", f"service/{cluster}/*"),
        tasks=arns.each("ecs", f"task/{cluster}/*"),
        service_deployments=arns.each("ecs", f"service-deployment/{cluster}/*"),
        service_revisions=arns.each("ecs", f"service-revision/{cluster}/*"),
        families=arns.each("ecs", *each("task-definition/{}:*", "task_family")),
        applications=arns.each("codedeploy", *each("application:{}", "codedeploy_application")),
        groups=arns.each("codedeploy", *each("deploymentgroup:{}/*", "codedeploy_application")),
        configs=arns.each("codedeploy", *(f"deploymentconfig:{c}" for c in environment["deployment_configs"])),
        functions=arns.each("lambda", f"function:{environment['hook_functions']}"),
        log_groups=arns.each("logs", *each("log-group:{}", "log_group"), f"log-group:{environment['hook_log_groups']}"),
        hook_log_groups=arns.each("logs", f"log-group:{environment['hook_log_groups']}"),
        alarms=arns.each("cloudwatch", f"alarm:{environment['alarms']}"),
        secrets=arns.each("secretsmanager", *each("secret:{}*", "secret_prefix")),
        balancers=arns.each("elasticloadbalancing", *each("loadbalancer/app/{}/*", "load_balancer")),
        target_groups=arns.each("elasticloadbalancing", f"targetgroup/{environment['target_groups']}/*"),
        listeners=arns.each("elasticloadbalancing", *each("listener/app/{}/*", "load_balancer")),
        roles=[arns.role(path, environment["roles"])],
        roles_by_name=[arns.role("/", environment["roles"])] if path != "/" else [],
        task_roles=roles("roles", "task", "task-execution"),
        hook_roles=roles("roles", "hooks"),
        codedeploy_roles=roles("roles", "codedeploy"),
        ecs_roles=roles("ecs_roles", *ECS_ROLES),
        hook_invoke_roles=roles("ecs_roles", "ecs-hooks"),
    )
