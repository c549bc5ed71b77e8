"""ECS-native blue/green (`deploymentController: ECS`, strategy BLUE_GREEN / LINEAR / CANARY): the pure part.

What the inventory's traffic plan and checks become for the ECS deployment controller, and how a service
deployment (DescribeServiceDeployments) reads in a job log. No AWS calls and no Ansible imports: the filters
(filter_plugins/bluegreen.py) load this file by path, the modules import it, the sandbox's ECS engine and the
hooks' ECS adapter use its stage names.

AWS behaviour followed (ECS API reference, botocore's model of it, ECS developer guide "Lifecycle hooks for Amazon
ECS service deployments"):
- `deploymentConfiguration.strategy` BLUE_GREEN needs `bakeTimeInMinutes`; LINEAR's `stepPercent` is a multiple of
  0.1 from 3.0 to 100.0 and its `stepBakeTimeInMinutes` 0-1440 (not applied after 100 %); CANARY's `canaryPercent`
  a multiple of 0.1 from 0.1 to 100.0, `canaryBakeTimeInMinutes` 0-1440.
- Hooks run at RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT,
  PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT; PRE_PRODUCTION_ and
  PRODUCTION_TRAFFIC_SHIFT run at every step of a linear or canary deployment; hooks at TEST_TRAFFIC_SHIFT and
  PRODUCTION_TRAFFIC_SHIFT run again during a rollback; PAUSE hooks cannot be placed at TEST_TRAFFIC_SHIFT or
  PRODUCTION_TRAFFIC_SHIFT. A hook's `timeoutConfiguration` defaults to 1440 minutes and ROLLBACK.
- A Lambda hook returns `hookStatus` SUCCEEDED, FAILED or IN_PROGRESS (invoked again after `callBackDelay`
  seconds, 30 by default); anything else, or an error, rolls the deployment back.
"""

from __future__ import annotations

CONTROLLERS = ("codedeploy", "ecs")

# ServiceDeployment.lifecycleStage, in the order a deployment passes them.
STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
# DeploymentLifecycleHook.lifecycleStages: PRE_PRODUCTION_TRAFFIC_SHIFT is a hook stage only (never a
# ServiceDeployment.lifecycleStage); SCALE_UP, BAKE_TIME and CLEAN_UP take no hooks.
HOOK_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
# Hook stages run once per traffic step of a LINEAR or CANARY deployment.
PER_STEP_STAGES = ("PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
# Hook stages whose hooks run again while a deployment rolls back.
ROLLBACK_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
PAUSE_FORBIDDEN_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")

# The five checks (module_utils/model/names.py LIFECYCLE_HOOKS, by function suffix) at the ECS stage where
# each sees what it saw under CodeDeploy: before the green tasks start; after they started; after test traffic
# reached them (the test-traffic probes, then the migrations, in that order: the migration hook waits for the
# test-traffic hook of the same stage, see hooks/ecs_event.py); after production traffic reached them.
CHECK_STAGES = {
    "validate-before-install": "PRE_SCALE_UP",
    "validate-deployment": "POST_SCALE_UP",
    "validate-test-traffic": "POST_TEST_TRAFFIC_SHIFT",
    "run-migrations": "POST_TEST_TRAFFIC_SHIFT",
    "validate-production": "POST_PRODUCTION_TRAFFIC_SHIFT",
}
# CodeDeploy's lifecycle event of each check, for lines that name both.
CODEDEPLOY_EVENT_OF_CHECK = {
    "validate-before-install": "BeforeInstall",
    "validate-deployment": "AfterInstall",
    "validate-test-traffic": "AfterAllowTestTraffic",
    "run-migrations": "BeforeAllowTraffic",
    "validate-production": "AfterAllowTraffic",
}
# Where promote.yml's manual approval waits: after the test-traffic checks and the migrations, before any
# production traffic (CodeDeploy's "Ready"). A PAUSE hook at the same stage as the Lambda hooks: the stage ends
# only when all of its hooks completed, so a promote never skips a check.
MANUAL_PROMOTE_STAGE = "POST_TEST_TRAFFIC_SHIFT"

# ServiceDeployment.status.
TERMINAL_STATUSES = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
ACTIVE_STATUSES = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
ROLLBACK_STATUSES = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
# DeploymentLifecycleHookDetail.status.
HOOK_STATUSES = ("AWAITING_ACTION", "IN_PROGRESS", "SUCCEEDED", "FAILED", "TIMED_OUT")
# What a Lambda hook returns.
HOOK_RESULTS = ("SUCCEEDED", "FAILED", "IN_PROGRESS")
DEFAULT_CALLBACK_DELAY_SECONDS = 30

BAKE_MINUTES_MAX = 1440
_LINEAR_PERCENT = (3.0, 100.0)
_CANARY_PERCENT = (0.1, 100.0)


class EcsPlanError(ValueError):
    """A traffic plan or hook setting ECS would refuse; the message says what to change."""


def controller(value: object) -> str:
    """The inventory's `bluegreen_controller`, checked."""
    if value not in CONTROLLERS:
        raise EcsPlanError(
            f"bluegreen_controller is {value!r}: set it to 'codedeploy' (CodeDeploy blue/green, the default) or "
            "'ecs' (ECS-native blue/green, linear and canary); see docs/controllers.md"
        )
    return str(value)


def _tenth(value: float) -> bool:
    return abs(round(value * 10) - value * 10) < 1e-9


def _bake(minutes: object, what: str) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes != int(minutes):
        raise EcsPlanError(f"{what} is {minutes!r}: a whole number of minutes")
    if not 0 <= int(minutes) <= BAKE_MINUTES_MAX:
        raise EcsPlanError(f"{what} is {minutes!r}: ECS takes 0 to {BAKE_MINUTES_MAX} minutes")
    return int(minutes)


def deployment_strategy(plan: dict, bake_minutes: object) -> dict:
    """deploymentConfiguration's strategy members for a traffic plan ({type: AllAtOnce | TimeBasedLinear |
    TimeBasedCanary, percentage, interval}: model/traffic.py ecs_strategy gives it); `bake_minutes` is the bake
    time after the production traffic shifted."""
    bake = _bake(bake_minutes, "the bake time (bluegreen_traffic.bake_minutes)")
    kind = plan.get("type")
    if kind == "AllAtOnce":
        return {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": bake}
    if kind not in ("TimeBasedLinear", "TimeBasedCanary"):
        raise EcsPlanError(f"traffic routing type {kind!r}: use AllAtOnce, TimeBasedLinear or TimeBasedCanary")
    percentage, interval = plan.get("percentage"), plan.get("interval")
    if isinstance(percentage, bool) or not isinstance(percentage, int | float) or not _tenth(float(percentage)):
        raise EcsPlanError(f"traffic percentage {percentage!r}: ECS takes multiples of 0.1")
    step_bake = _bake(interval, "the minutes between traffic steps (interval)")
    low, high = _LINEAR_PERCENT if kind == "TimeBasedLinear" else _CANARY_PERCENT
    if not low <= float(percentage) <= high:
        strategy = "LINEAR" if kind == "TimeBasedLinear" else "CANARY"
        raise EcsPlanError(f"traffic percentage {percentage:g}: an ECS {strategy} step is {low:g} to {high:g} percent")
    if kind == "TimeBasedLinear":
        return {
            "strategy": "LINEAR",
            "bakeTimeInMinutes": bake,
            "linearConfiguration": {"stepPercent": float(percentage), "stepBakeTimeInMinutes": step_bake},
        }
    return {
        "strategy": "CANARY",
        "bakeTimeInMinutes": bake,
        "canaryConfiguration": {"canaryPercent": float(percentage), "canaryBakeTimeInMinutes": step_bake},
    }


def traffic_steps(strategy: dict) -> list[float]:
    """The production traffic percentages the new revision reaches, step by step."""
    kind = strategy["strategy"]
    if kind == "BLUE_GREEN":
        return [100.0]
    if kind == "CANARY":
        return [float(strategy["canaryConfiguration"]["canaryPercent"]), 100.0]
    step = float(strategy["linearConfiguration"]["stepPercent"])
    steps, reached = [], 0.0
    while reached < 100.0 - 1e-9:
        reached = min(100.0, round(reached + step, 1))
        steps.append(reached)
    return steps


def lifecycle_hooks(
    function_arns: dict,
    role_arn: str,
    *,
    manual_promote_minutes: object = 0,
    hook_details: dict | None = None,
) -> list[dict]:
    """deploymentConfiguration.lifecycleHooks: each check's function at its stage (CHECK_STAGES), in the order
    CodeDeploy would run them, and a PAUSE hook for promote.yml when manual promotion is on (it rolls back when
    nobody continues within the minutes, as CodeDeploy stops a deployment left at Ready).

    `function_arns`: check suffix -> Lambda function ARN; a check without a function is left out."""
    minutes = _bake(manual_promote_minutes, "codedeploy_manual_promote_minutes")
    unknown = sorted(set(function_arns) - set(CHECK_STAGES))
    if unknown:
        raise EcsPlanError(f"no ECS stage is known for the hook(s) {', '.join(unknown)}")
    hooks = []
    for suffix, stage in CHECK_STAGES.items():
        if not function_arns.get(suffix):
            continue
        hook = {
            "targetType": "AWS_LAMBDA",
            "hookTargetArn": function_arns[suffix],
            "roleArn": role_arn,
            "lifecycleStages": [stage],
        }
        if hook_details:
            hook["hookDetails"] = dict(hook_details)
        hooks.append(hook)
    if minutes:
        hooks.append(
            {
                "targetType": "PAUSE",
                "lifecycleStages": [MANUAL_PROMOTE_STAGE],
                "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": "ROLLBACK"},
            }
        )
    return hooks


def check_hooks(hooks: list[dict]) -> None:
    """Refuses hooks ECS would refuse (PAUSE at a traffic-shift stage, unknown stages, a Lambda without a target),
    with the message an operator can act on."""
    for index, hook in enumerate(hooks):
        kind = hook.get("targetType", "AWS_LAMBDA")
        stages = hook.get("lifecycleStages") or []
        if not stages:
            raise EcsPlanError(f"lifecycle hook {index}: lifecycleStages is empty")
        for stage in stages:
            if stage not in HOOK_STAGES:
                raise EcsPlanError(
                    f"lifecycle hook {index}: {stage!r} takes no hooks (use one of {', '.join(HOOK_STAGES)})"
                )
            if kind == "PAUSE" and stage in PAUSE_FORBIDDEN_STAGES:
                raise EcsPlanError(
                    f"lifecycle hook {index}: a PAUSE hook cannot be placed at {stage} (ECS allows PAUSE everywhere "
                    f"but {' and '.join(PAUSE_FORBIDDEN_STAGES)})"
                )
        if kind == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
            raise EcsPlanError(f"lifecycle hook {index}: an AWS_LAMBDA hook needs hookTargetArn")
        if kind == "PAUSE" and hook.get("hookTargetArn"):
            raise EcsPlanError(f"lifecycle hook {index}: a PAUSE hook takes no hookTargetArn")


def deployment_configuration(
    strategy: dict,
    function_arns: dict,
    role_arn: str,
    *,
    manual_promote_minutes: object = 0,
    alarm_names: list[str] | None = None,
) -> dict:
    """The service's whole deploymentConfiguration for the ECS controller: the traffic plan's strategy
    (model/traffic.py ecs_strategy), hooks and the alarms that roll a deployment back (the circuit breaker is for
    rolling updates only: it is not set)."""
    configuration = dict(strategy)
    hooks = lifecycle_hooks(function_arns, role_arn, manual_promote_minutes=manual_promote_minutes)
    check_hooks(hooks)
    configuration["lifecycleHooks"] = hooks
    # A blue/green deployment keeps every original task until the bake time ends: no task is stopped early.
    configuration["maximumPercent"] = 200
    configuration["minimumHealthyPercent"] = 100
    if alarm_names:
        configuration["alarms"] = {"alarmNames": sorted(alarm_names), "enable": True, "rollback": True}
    return configuration


_STRATEGY_KEYS = ("strategy", "bakeTimeInMinutes", "linearConfiguration", "canaryConfiguration")


def with_strategy(configuration: dict, strategy: dict) -> dict:
    """The service's deploymentConfiguration with another strategy (a deploy's traffic plan, a rollback's all at
    once; model/traffic.py ecs_strategy): the strategy and bake time change, the hooks, alarms and percentages stay
    as provisioned."""
    if not (configuration or {}).get("lifecycleHooks"):
        raise EcsPlanError(
            "the service has no lifecycle hooks in its deploymentConfiguration: provision it with "
            "bluegreen_controller: ecs (playbooks/provision.yml) before deploying"
        )
    kept = {k: v for k, v in configuration.items() if k not in _STRATEGY_KEYS}
    return {**kept, **strategy}
