"""One model of an environment: every AWS name of a service, computed once from the inventory's few inputs.

An environment is an application in one stage (`orders` in `prod`); it has one ECS cluster and one or more
services. Each service is a stack of its own: task definition family, ECS service, CodeDeploy application and
deployment group, load balancer with its blue and green target groups and listeners, security groups, IAM
roles, hook functions, log groups and alarms. The application's own service (named like the application) keeps
the environment's name (`orders-prod`), so environments provisioned before services existed keep every name;
another service is `<app>-<env>-<service>` (`orders-prod-worker`).

Used by the roles and playbooks (through the `bluegreen_names` filter, filter_plugins/bluegreen.py), by the hooks'
packaging (hooks/build.py) and by the tests, so a name is written here and nowhere else. Pure Python, no
Ansible: Ansible loads controller plugins without the module_utils path, so the filter loads this file by path.
"""

from __future__ import annotations

import re

# The five lifecycle events of an ECS blue/green deployment, in the order CodeDeploy runs them, and the suffix
# of the hook function that answers each (hooks/build.py packages one function per suffix).
LIFECYCLE_HOOKS = (
    ("BeforeInstall", "validate-before-install"),
    ("AfterInstall", "validate-deployment"),
    ("AfterAllowTestTraffic", "validate-test-traffic"),
    ("BeforeAllowTraffic", "run-migrations"),
    ("AfterAllowTraffic", "validate-production"),
)
# Role suffix -> the service principal that assumes it.
ROLES = {
    "task-execution": "ecs-tasks.amazonaws.com",
    "task": "ecs-tasks.amazonaws.com",
    "codedeploy": "codedeploy.amazonaws.com",
    "hooks": "lambda.amazonaws.com",
}
# The roles of the ECS controller (bluegreen_controller: ecs, docs/controllers.md), both assumed by ECS: the one it
# modifies the listener rules with and the one it invokes the hook functions with. Named whatever the controller,
# so a teardown after a change of controller removes them too.
ECS_ROLES = {
    "ecs-load-balancer": "ecs.amazonaws.com",
    "ecs-hooks": "ecs.amazonaws.com",
}
# The load balancer's, the hook functions' and the tasks' security groups.
SECURITY_GROUPS = ("alb", "hooks", "service")
COLORS = ("blue", "green")
# The alarms on each target group (module_utils/model/alarms.py defines them).
ALARM_KINDS = ("error-rate", "latency-p99", "unhealthy-hosts")
# The customer managed policies an environment's operators carry, one per kind of access (module_utils/iam/
# operators.py writes them; playbooks/operator_access.yml attaches them).
OPERATOR_POLICIES = ("inspect", "provision", "deploy", "operate")
# CodeDeploy's own deployment configs, which any environment may name.
PREDEFINED_DEPLOYMENT_CONFIGS = "CodeDeployDefault.*"

_LABEL = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# Elastic Load Balancing: a load balancer's and a target group's name is at most 32 characters.
_ELB_NAME_MAX = 32
# Lambda: a function name is at most 64 characters; IAM: a role name at most 64.
_FUNCTION_NAME_MAX = 64


# A Docker image tag: letters, digits, _ . -; at most 128; not starting with . or -.
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ModelError(ValueError):
    """An input the model cannot name resources from; the message says what to change."""


def _check_label(what: str, value: object, variable: str) -> str:
    if not isinstance(value, str) or not _LABEL.match(value):
        raise ModelError(
            f"{what} {value!r} is not usable in AWS names: lower-case letters, digits and single hyphens, starting "
            f"with a letter (set {variable})"
        )
    return value


def stack_name(app: str, env: str, service: str | None = None) -> str:
    """The prefix of every name of one service: `<app>-<env>`, or `<app>-<env>-<service>` for another service."""
    _check_label("the application", app, "bluegreen_app")
    _check_label("the environment", env, "bluegreen_env")
    base = f"{app}-{env}"
    if service in (None, "", app):
        return base
    return f"{base}-{_check_label('the service', service, '-e service=<name>')}"


def _function_log_group(function: str) -> str:
    """Lambda writes a function's output to the log group named after it."""
    return f"/aws/lambda/{function}"


def _named_after(name: str) -> dict:
    """The names a service derives from its own name alone. `name` may be a pattern (environment_names)."""
    return {
        "name": name,
        "task_family": name,
        "log_group": f"/ecs/{name}",
        "codedeploy_application": name,
        "load_balancer": name,
        "roles": {suffix: f"{name}-{suffix}" for suffix in ROLES},
        "ecs_roles": {suffix: f"{name}-{suffix}" for suffix in ECS_ROLES},
        # The task definition's secrets are named under the service's name by convention (`orders-prod/api-token`).
        "secret_prefix": f"{name}/",
    }


def names(app: str, env: str, service: str | None = None) -> dict:
    """Every AWS name of one service of an environment (see the module's docstring)."""
    environment = stack_name(app, env)
    name = stack_name(app, env, service)
    longest_elb = f"{name}-{max(COLORS, key=len)}"
    if len(longest_elb) > _ELB_NAME_MAX:
        raise ModelError(
            f"{longest_elb!r} is {len(longest_elb)} characters: a target group's name is at most {_ELB_NAME_MAX}. "
            f"Shorten bluegreen_app, bluegreen_env or the service's name so that '{name}' is at most "
            f"{_ELB_NAME_MAX - len('-green')} characters"
        )
    longest_function = f"{name}-{max((suffix for _, suffix in LIFECYCLE_HOOKS), key=len)}"
    if len(longest_function) > _FUNCTION_NAME_MAX:  # pragma: no cover - implied by the ELB limit today
        raise ModelError(f"{longest_function!r} is longer than a Lambda function name may be ({_FUNCTION_NAME_MAX})")
    functions = {event: f"{name}-{suffix}" for event, suffix in LIFECYCLE_HOOKS}
    own = _named_after(name)
    return {
        "app": app,
        "env": env,
        "service": service or app,
        "environment": environment,
        "name": name,
        # Shared by the environment's services.
        "cluster": environment,
        # The service's own.
        "ecs_service": name,
        # The way back from the ECS controller to CodeDeploy's serves from it while the service is replaced
        # (playbooks/migrate_controller.yml); it exists only then.
        "bridge_service": f"{name}-bridge",
        "task_family": own["task_family"],
        "log_group": own["log_group"],
        "codedeploy_application": own["codedeploy_application"],
        "deployment_group": name,
        "load_balancer": own["load_balancer"],
        "target_groups": [f"{name}-{color}" for color in COLORS],
        "security_groups": {kind: f"{name}-{kind}" for kind in SECURITY_GROUPS},
        "roles": own["roles"],
        "role_principals": dict(ROLES),
        "ecs_roles": own["ecs_roles"],
        "hook_functions": functions,
        "hook_log_groups": [_function_log_group(function) for function in functions.values()],
        # Per target group: {kind: {color: alarm name}}; and the flat list the deployment group stops on.
        "alarm_names": {kind: {color: f"{name}-{kind}-{color}" for color in COLORS} for kind in ALARM_KINDS},
        "alarms": [f"{name}-{kind}-{color}" for kind in ALARM_KINDS for color in COLORS],
        # What the hook role's scoped statements match (its alarms and its functions' log groups).
        "resource_prefix": name,
        "secret_prefix": own["secret_prefix"],
    }


def environment_names(app: str, env: str) -> dict:
    """What the operators' policies scope to: the names of every service of an environment, as IAM patterns.

    The application's own service keeps the environment's name and another's names start with `<environment>-`
    (stack_name), so each name a service derives from its own is written twice (`services`: the application's own
    service's names, then any other service's, `<environment>-*`), and a name made of a service's name and a suffix
    is matched by `<environment>-*` whatever the service."""
    environment = stack_name(app, env)
    further = f"{environment}-*"
    return {
        "environment": environment,
        "cluster": environment,
        "services": [_named_after(environment), _named_after(further)],
        "roles": further,
        "target_groups": further,
        "hook_functions": further,
        "hook_log_groups": _function_log_group(further),
        "alarms": further,
        # A custom deployment config is named after the environment (`orders-prod-linear-10-every-5`).
        "deployment_configs": [further, PREDEFINED_DEPLOYMENT_CONFIGS],
        "operator_policies": {access: f"{environment}-{access}" for access in OPERATOR_POLICIES},
    }


def hook_suffixes() -> list[str]:
    return [suffix for _, suffix in LIFECYCLE_HOOKS]


def image_tag(value: object, what: str = "image_tag") -> str:
    """The image tag a deploy is given, checked before anything is registered."""
    if not isinstance(value, str) or not _IMAGE_TAG.match(value):
        shown = value if isinstance(value, str) else repr(value)
        raise ModelError(
            f'{what} "{shown}" is not a valid image tag (letters, digits, _ . -; at most 128; not starting with . or -)'
        )
    return value
