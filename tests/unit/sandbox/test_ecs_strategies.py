"""The sandbox's ECS deployment strategies (sandbox/ecs/strategies.py) as AWS documents them: LinearConfiguration,
CanaryConfiguration and their defaults (ECS API reference), and the number of waits between steps as the
CloudFormation template reference counts them for LINEAR."""

from __future__ import annotations

import math

from sandbox.ecs.strategies import step_bake_minutes, traffic_steps, with_defaults


def linear(step: float, bake: int = 1) -> dict:
    return {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": step, "stepBakeTimeInMinutes": bake}}


def canary(percent: float, bake: int = 1) -> dict:
    return {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": percent, "canaryBakeTimeInMinutes": bake}}


def test_linear_shifts_equal_steps_until_all_of_production_traffic() -> None:
    assert traffic_steps(linear(10.0)) == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert traffic_steps(linear(25.0)) == [25.0, 50.0, 75.0, 100.0]
    assert traffic_steps(linear(100.0)) == [100.0]
    # A step that does not divide 100: the last step shifts what remains.
    assert traffic_steps(linear(11.0)) == [11.0, 22.0, 33.0, 44.0, 55.0, 66.0, 77.0, 88.0, 99.0, 100.0]
    assert traffic_steps(linear(3.3))[:3] == [3.3, 6.6, 9.9]
    assert traffic_steps(linear(3.3))[-2:] == [99.0, 100.0]


def test_linear_waits_as_many_times_as_cloudformation_counts() -> None:
    """ "If StepPercent evenly divides by 100: (100 / StepPercent) - 1; otherwise the floor of 100 / StepPercent"
    (AWS::ECS::Service LinearConfiguration); a wait follows each step but the one that reaches 100 %. For every valid
    stepPercent, a multiple of 0.1 from 3.0 to 100.0."""
    unlike = []
    for tenths in range(30, 1001):
        steps = traffic_steps(linear(tenths / 10))
        waits = len([percent for percent in steps if percent < 100.0])
        expected = 1000 // tenths - 1 if 1000 % tenths == 0 else math.floor(1000 / tenths)
        if waits != expected or steps[-1] != 100.0 or steps != sorted(set(steps)):
            unlike.append((tenths / 10, waits, expected))
    assert unlike == []


def test_canary_shifts_its_percentage_then_the_rest() -> None:
    assert traffic_steps(canary(5.0)) == [5.0, 100.0]
    assert traffic_steps(canary(0.1)) == [0.1, 100.0]
    assert traffic_steps(canary(100.0)) == [100.0]  # nothing remains to shift (assumed)


def test_blue_green_shifts_at_once() -> None:
    assert traffic_steps({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}) == [100.0]
    assert step_bake_minutes({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}) == 0.0


def test_the_api_references_defaults_fill_what_a_configuration_leaves_out() -> None:
    assert traffic_steps(with_defaults({"strategy": "LINEAR"}))[0] == 10.0
    assert step_bake_minutes(with_defaults({"strategy": "LINEAR"})) == 6.0
    assert traffic_steps(with_defaults({"strategy": "CANARY"})) == [5.0, 100.0]
    assert step_bake_minutes(with_defaults({"strategy": "CANARY"})) == 10.0
    given = with_defaults({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 20.0}})
    assert given["linearConfiguration"] == {"stepPercent": 20.0, "stepBakeTimeInMinutes": 6}
