# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The traffic plan of an environment, in no controller's words: `bluegreen_traffic` in the inventory, or a
deploy's `-e traffic=...`.

    bluegreen_traffic: {type: linear, percent: 10, interval_minutes: 5, bake_minutes: 30}

- all_at_once: production moves in one step; linear: `percent` more every `interval_minutes`; canary: `percent`,
  then the rest after `interval_minutes`. `bake_minutes`: how long the previous version is kept once production
  moved (a rollback in that time is instant).
- Given on the command line as a word: `all_at_once`, `linear-10-every-5`, `canary-10-then-5`, or one of CodeDeploy's
  predefined configuration names (CodeDeployDefault.ECSLinear10PercentEvery1Minutes, ...).

What each controller takes is computed here, once: CodeDeploy's deployment configuration (a predefined one when the
plan is one, else `<environment>-linear-10-every-5`, provisioned by the codedeploy role, which the IAM scope
`deploymentconfig:<environment>-*` covers) and ECS's strategy (BLUE_GREEN, LINEAR, CANARY; model/ecs.py checks what
ECS refuses). Pure Python: the filters, the modules and the tests import it.
"""

from __future__ import annotations

import re

from .ecs import deployment_strategy

TYPES = ("all_at_once", "linear", "canary")
BAKE_MINUTES_DEFAULT = 5

# CodeDeploy's predefined ECS configurations, as plans.
PREDEFINED: dict[str, dict[str, object]] = {
    "CodeDeployDefault.ECSAllAtOnce": {"type": "all_at_once"},
    "CodeDeployDefault.ECSCanary10Percent5Minutes": {"type": "canary", "percent": 10, "interval_minutes": 5},
    "CodeDeployDefault.ECSCanary10Percent15Minutes": {"type": "canary", "percent": 10, "interval_minutes": 15},
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {"type": "linear", "percent": 10, "interval_minutes": 1},
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {"type": "linear", "percent": 10, "interval_minutes": 3},
}
_WORD = re.compile(
    r"^(?:(?P<linear>linear)-(?P<lp>\d+)-every-(?P<li>\d+)|(?P<canary>canary)-(?P<cp>\d+)-then-(?P<ci>\d+))$"
)
# The same words at the end of a deployment configuration this project named (<environment>-linear-10-every-5).
_NAMED = re.compile(r"-(?P<word>(?:linear-\d+-every-\d+|canary-\d+-then-\d+))$")
_DIGITS = re.compile(r"[0-9]+")
KEYS = ("type", "percent", "interval_minutes", "bake_minutes")
ACCEPTED = (
    "all_at_once, linear-<percent>-every-<minutes>, canary-<percent>-then-<minutes>, a CodeDeployDefault.ECS* "
    "configuration name, or {type: all_at_once|linear|canary, percent, interval_minutes, bake_minutes}"
)


class TrafficPlanError(ValueError):
    """A traffic plan that cannot be followed; the message names what is wrong and the accepted values."""


def _whole(value: object, what: str, low: int, high: int) -> int:
    # 0-9 only: str.isdigit() also takes superscripts (which int() refuses) and other scripts' digits.
    if isinstance(value, bool) or not isinstance(value, int | float | str) or not _DIGITS.fullmatch(str(value)):
        raise TrafficPlanError(f"{what} is {value!r}: a whole number from {low} to {high}")
    number = int(value)
    if not low <= number <= high:
        raise TrafficPlanError(f"{what} is {number}: a whole number from {low} to {high}")
    return number


def _from_word(word: str, what: str) -> dict:
    if word == "all_at_once":
        return {"type": "all_at_once"}
    if word in PREDEFINED:
        return dict(PREDEFINED[word])
    named = _NAMED.search(word)
    match = _WORD.match(named.group("word") if named else word)
    if not match:
        raise TrafficPlanError(f'{what} "{word}" is not a traffic plan: use {ACCEPTED}')
    if match.group("linear"):
        return {"type": "linear", "percent": match.group("lp"), "interval_minutes": match.group("li")}
    return {"type": "canary", "percent": match.group("cp"), "interval_minutes": match.group("ci")}


def plan(value: object, default: dict | None = None, what: str = "bluegreen_traffic") -> dict:
    """The plan, checked and complete: {type, percent, interval_minutes, bake_minutes} (percent and interval are
    None all at once). A word or a partial plan takes its bake time from `default` (the environment's plan)."""
    if value in (None, ""):
        if default is None:
            raise TrafficPlanError(f"{what} is not set: use {ACCEPTED}")
        return dict(default)
    if isinstance(value, str):
        value = _from_word(value.strip(), what)
    if not isinstance(value, dict):
        raise TrafficPlanError(f"{what} is {value!r}: use {ACCEPTED}")
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise TrafficPlanError(f"{what} has unknown key(s) {', '.join(unknown)}: it takes {', '.join(KEYS)}")
    kind = value.get("type")
    if kind not in TYPES:
        raise TrafficPlanError(f"{what}.type is {kind!r}: one of {', '.join(TYPES)}")
    bake = value.get("bake_minutes", (default or {}).get("bake_minutes", BAKE_MINUTES_DEFAULT))
    checked = {"type": kind, "percent": None, "interval_minutes": None,
               "bake_minutes": _whole(bake, f"{what}.bake_minutes", 0, 2880)}  # fmt: skip
    if kind == "all_at_once":
        if value.get("percent") is not None or value.get("interval_minutes") is not None:
            raise TrafficPlanError(f"{what}: all_at_once takes no percent or interval_minutes")
        return checked
    checked["percent"] = _whole(value.get("percent"), f"{what}.percent", 1, 99)
    checked["interval_minutes"] = _whole(value.get("interval_minutes"), f"{what}.interval_minutes", 1, 2880)
    return checked


def word(checked: dict) -> str:
    """The plan as a deploy's -e traffic=... would give it."""
    if checked["type"] == "all_at_once":
        return "all_at_once"
    joint = "every" if checked["type"] == "linear" else "then"
    return f"{checked['type']}-{checked['percent']}-{joint}-{checked['interval_minutes']}"


def codedeploy_config(checked: dict, names: dict) -> dict:
    """CodeDeploy's deployment configuration for the plan: {name, routing} where routing is the trafficRoutingConfig
    of a configuration to create (empty for a predefined one)."""
    for name, predefined in PREDEFINED.items():
        if all(checked[key] == predefined.get(key) for key in ("type", "percent", "interval_minutes")):
            return {"name": name, "routing": {}}
    kind = "TimeBasedLinear" if checked["type"] == "linear" else "TimeBasedCanary"
    return {
        "name": f"{names['environment']}-{word(checked)}",
        "routing": {"type": kind, "percentage": checked["percent"], "interval": checked["interval_minutes"]},
    }


def ecs_strategy(checked: dict) -> dict:
    """The plan as ECS's {strategy, bakeTimeInMinutes, linearConfiguration | canaryConfiguration} (model/ecs.py
    refuses what ECS would)."""
    routing = {"all_at_once": {"type": "AllAtOnce"}}.get(checked["type"]) or {
        "type": "TimeBasedLinear" if checked["type"] == "linear" else "TimeBasedCanary",
        "percentage": checked["percent"],
        "interval": checked["interval_minutes"],
    }
    return deployment_strategy(routing, checked["bake_minutes"])
