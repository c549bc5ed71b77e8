"""What the CodeDeploy endpoint and its engine share: the API's errors, statuses, lifecycle events and the
predefined deployment configs."""

from __future__ import annotations

import time
import uuid

EVENTS = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
]
HOOK_EVENTS = ["BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"]
ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
TERMINAL = ["Succeeded", "Failed", "Stopped"]


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def now() -> float:
    return round(time.time(), 3)


def config(name, kind, routing=None, minimum=None):
    body = {
        "deploymentConfigId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "deploymentConfigName": name,
        "createTime": 1420070400.0,
        "computePlatform": kind,
    }
    if routing:
        body["trafficRoutingConfig"] = routing
    if minimum:
        body["minimumHealthyHosts"] = minimum
    return body


def _linear(percentage, minutes):
    return {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": percentage, "linearInterval": minutes}}


def _canary(percentage, minutes):
    return {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": percentage, "canaryInterval": minutes}}


PREDEFINED_CONFIGS = {
    c["deploymentConfigName"]: c
    for c in [
        config("CodeDeployDefault.ECSAllAtOnce", "ECS", {"type": "AllAtOnce"}),
        config("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", "ECS", _linear(10, 1)),
        config("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", "ECS", _linear(10, 3)),
        config("CodeDeployDefault.ECSCanary10Percent5Minutes", "ECS", _canary(10, 5)),
        config("CodeDeployDefault.ECSCanary10Percent15Minutes", "ECS", _canary(10, 15)),
        config("CodeDeployDefault.OneAtATime", "Server", minimum={"type": "HOST_COUNT", "value": 1}),
        config("CodeDeployDefault.HalfAtATime", "Server", minimum={"type": "FLEET_PERCENT", "value": 50}),
        config("CodeDeployDefault.AllAtOnce", "Server", minimum={"type": "HOST_COUNT", "value": 0}),
    ]
}


def traffic_steps(config: dict) -> list[tuple[int, float]]:
    """[(replacement %, minutes to wait after this step)] for a deployment config's traffic routing."""
    routing = config.get("trafficRoutingConfig") or {"type": "AllAtOnce"}
    if routing["type"] == "TimeBasedCanary":
        canary = routing["timeBasedCanary"]
        return [(canary["canaryPercentage"], canary["canaryInterval"]), (100, 0)]
    if routing["type"] == "TimeBasedLinear":
        linear = routing["timeBasedLinear"]
        steps, percent = [], 0
        while percent + linear["linearPercentage"] < 100:
            percent += linear["linearPercentage"]
            steps.append((percent, linear["linearInterval"]))
        return [*steps, (100, 0)]
    return [(100, 0)]
