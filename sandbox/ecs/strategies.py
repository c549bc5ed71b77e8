"""ECS's deployment strategies for a service whose deploymentController is ECS, as the ECS API reference and
developer guide define them: which production traffic percentages a deployment passes through, and how long it
waits between them. The sandbox computes these itself, from AWS's text, never from a caller's code.

- `deploymentConfiguration.strategy`: ROLLING (the default), BLUE_GREEN, LINEAR or CANARY (DeploymentStrategy).
- BLUE_GREEN shifts all production traffic at once, then waits `bakeTimeInMinutes` ("The time period when both blue
  and green service revisions are running simultaneously after the production traffic has shifted").
- LINEAR (LinearConfiguration): "shifts production traffic in equal percentage increments with configurable wait
  times between each step until 100% of traffic is shifted to the new service revision". `stepPercent`: "Valid
  values are multiples of 0.1 from 3.0 to 100.0. The default value is 10.0." `stepBakeTimeInMinutes`: "Valid values
  are 0 to 1440 minutes (24 hours). The default value is 6. This bake time is not applied after reaching 100 percent
  traffic." So the steps are stepPercent, 2 x stepPercent, ... and a last one of 100 % when stepPercent does not
  divide 100: the CloudFormation template reference's count of the waits (AWS::ECS::Service LinearConfiguration)
  agrees: "(100 / StepPercent) - 1" when StepPercent divides 100, else "the floor of 100 / StepPercent" ("if
  StepPercent is 11, the number of deployment steps is 9"), one wait after each step but the last.
- CANARY (CanaryConfiguration): "shifts a fixed percentage of traffic to the new service revision, waits for a
  specified bake time, then shifts the remaining traffic". `canaryPercent`: "multiples of 0.1 from 0.1 to 100.0.
  The default value is 5.0." `canaryBakeTimeInMinutes`: "0 to 1440 minutes (24 hours). The default value is 10."
  A canaryPercent of 100 leaves no remaining traffic: one step (**assumed**; the reference does not say).
- ServiceDeployment.status (ServiceDeploymentStatus): PENDING, IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED and
  ROLLBACK_IN_PROGRESS while it runs; SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED once it ended.
- A Lambda lifecycle hook answering `hookStatus` IN_PROGRESS is invoked again "after a delay. By default, the delay is
  30 seconds", or its `callBackDelay` (ECS developer guide, "Lambda hooks for Amazon ECS service deployments").
"""

from __future__ import annotations

import json

BLUE_GREEN = ("BLUE_GREEN", "LINEAR", "CANARY")
ACTIVE_STATUSES = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
DEFAULT_CALLBACK_DELAY_SECONDS = 30
# Percentages in tenths: every documented percentage is a multiple of 0.1, so the steps are exact.
_WHOLE = 1000


def with_defaults(config: dict) -> dict:
    """A LINEAR or CANARY configuration with the API reference's defaults filled in (LINEAR: 10 % every 6 minutes;
    CANARY: 5 %, then the rest after 10 minutes)."""
    filled = json.loads(json.dumps(config))
    if filled.get("strategy") == "LINEAR":
        filled["linearConfiguration"] = {
            "stepPercent": 10.0,
            "stepBakeTimeInMinutes": 6,
            **(config.get("linearConfiguration") or {}),
        }
    if filled.get("strategy") == "CANARY":
        filled["canaryConfiguration"] = {
            "canaryPercent": 5.0,
            "canaryBakeTimeInMinutes": 10,
            **(config.get("canaryConfiguration") or {}),
        }
    return filled


def _tenths(percent: float) -> int:
    return round(float(percent) * 10)


def traffic_steps(config: dict) -> list[float]:
    """The production traffic percentages the new service revision reaches, one per step, the last 100.0; for a
    configuration whose defaults are filled in (with_defaults)."""
    strategy = config.get("strategy")
    if strategy == "LINEAR":
        step = _tenths(config["linearConfiguration"]["stepPercent"])
        return [min(reached, _WHOLE) / 10 for reached in range(step, _WHOLE + step, step)]
    if strategy == "CANARY":
        canary = _tenths(config["canaryConfiguration"]["canaryPercent"])
        return [canary / 10, 100.0] if canary < _WHOLE else [100.0]
    return [100.0]


def step_bake_minutes(config: dict) -> float:
    """The minutes a deployment waits after each step but the last (none after 100 %): LINEAR's
    stepBakeTimeInMinutes, CANARY's canaryBakeTimeInMinutes; BLUE_GREEN has one step."""
    strategy = config.get("strategy")
    if strategy == "LINEAR":
        return float(config["linearConfiguration"]["stepBakeTimeInMinutes"])
    if strategy == "CANARY":
        return float(config["canaryConfiguration"]["canaryBakeTimeInMinutes"])
    return 0.0
