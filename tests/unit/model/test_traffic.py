"""The traffic plan, in no controller's words (module_utils/model/traffic.py): what the inventory and a deploy's
`-e traffic=...` may say, what is refused and why, and what CodeDeploy and ECS are given for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from filter_plugins.bluegreen import FilterModule
from module_utils.model import traffic
from module_utils.model.ecs import EcsPlanError
from module_utils.model.names import names
from module_utils.model.traffic import TrafficPlanError, codedeploy_config, ecs_strategy, plan, word

REPO_ROOT = Path(__file__).resolve().parents[3]
ORDERS_PROD = names("orders", "prod")
FILTERS = FilterModule().filters()
ACCEPTED = re.escape(traffic.ACCEPTED)


def full(kind: str, percent: int | None = None, interval: int | None = None, bake: int = 5) -> dict:
    return {"type": kind, "percent": percent, "interval_minutes": interval, "bake_minutes": bake}


# ---------------------------------------------------------------------------------------------
# What is accepted
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"type": "all_at_once"}, full("all_at_once")),
        ({"type": "all_at_once", "bake_minutes": 0}, full("all_at_once", bake=0)),
        ({"type": "linear", "percent": 10, "interval_minutes": 5, "bake_minutes": 30}, full("linear", 10, 5, 30)),
        ({"type": "canary", "percent": 25, "interval_minutes": 15}, full("canary", 25, 15)),
        # As YAML or -e key=value may give numbers: strings of digits.
        ({"type": "linear", "percent": "20", "interval_minutes": "1", "bake_minutes": "2"}, full("linear", 20, 1, 2)),
        # The percentages and minutes at their bounds.
        ({"type": "linear", "percent": 1, "interval_minutes": 2880}, full("linear", 1, 2880)),
        ({"type": "canary", "percent": 99, "interval_minutes": 1, "bake_minutes": 2880}, full("canary", 99, 1, 2880)),
    ],
)
def test_a_plan_in_the_inventory_is_checked_and_completed(value, expected):
    assert plan(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("all_at_once", full("all_at_once")),
        ("linear-10-every-5", full("linear", 10, 5)),
        ("linear-3-every-1", full("linear", 3, 1)),
        ("canary-10-then-5", full("canary", 10, 5)),
        ("canary-50-then-120", full("canary", 50, 120)),
        ("  canary-10-then-5\n", full("canary", 10, 5)),
    ],
)
def test_each_word_is_a_plan(value, expected):
    assert plan(value) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CodeDeployDefault.ECSAllAtOnce", full("all_at_once")),
        ("CodeDeployDefault.ECSCanary10Percent5Minutes", full("canary", 10, 5)),
        ("CodeDeployDefault.ECSCanary10Percent15Minutes", full("canary", 10, 15)),
        ("CodeDeployDefault.ECSLinear10PercentEvery1Minutes", full("linear", 10, 1)),
        ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", full("linear", 10, 3)),
    ],
)
def test_each_of_codedeploys_predefined_ecs_configurations_is_a_plan(name, expected):
    assert plan(name) == expected


def test_every_predefined_configuration_is_named():
    assert sorted(traffic.PREDEFINED) == [
        "CodeDeployDefault.ECSAllAtOnce",
        "CodeDeployDefault.ECSCanary10Percent15Minutes",
        "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders-prod-linear-10-every-5", full("linear", 10, 5)),
        ("orders-prod-canary-20-then-30", full("canary", 20, 30)),
        ("payments-worker-staging-linear-25-every-2", full("linear", 25, 2)),
    ],
)
def test_a_configuration_this_project_named_is_read_back_as_its_plan(name, expected):
    assert plan(name) == expected


def test_a_word_or_a_partial_plan_takes_its_bake_time_from_the_environments_plan():
    environment = plan({"type": "linear", "percent": 10, "interval_minutes": 5, "bake_minutes": 30})
    assert plan("canary-10-then-5", environment) == full("canary", 10, 5, 30)
    assert plan("all_at_once", environment) == full("all_at_once", bake=30)
    assert plan("CodeDeployDefault.ECSAllAtOnce", environment)["bake_minutes"] == 30
    assert plan({"type": "canary", "percent": 5, "interval_minutes": 1}, environment)["bake_minutes"] == 30
    # A plan that says its bake time keeps it.
    assert plan({"type": "all_at_once", "bake_minutes": 0}, environment)["bake_minutes"] == 0
    # Without an environment's plan: the default bake time.
    assert plan("canary-10-then-5")["bake_minutes"] == traffic.BAKE_MINUTES_DEFAULT


@pytest.mark.parametrize("unset", [None, ""])
def test_no_plan_given_is_the_environments(unset):
    environment = plan({"type": "canary", "percent": 10, "interval_minutes": 5, "bake_minutes": 30})
    assert plan(unset, environment) == environment


# ---------------------------------------------------------------------------------------------
# What is refused, and the message says what was wrong and what is accepted
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"type": "linar", "percent": 10, "interval_minutes": 5},
            "bluegreen_traffic.type is 'linar': one of all_at_once, linear, canary",
        ),
        ({"percent": 10, "interval_minutes": 5}, "bluegreen_traffic.type is None: one of all_at_once, linear, canary"),
        (
            {"type": "linear", "percentage": 10, "interval_minutes": 5},
            "bluegreen_traffic has unknown key(s) percentage: it takes type, percent, interval_minutes, bake_minutes",
        ),
        (
            {"type": "linear", "percent": 10, "interval": 5, "bake": 1},
            "bluegreen_traffic has unknown key(s) bake, interval: it takes type, percent, interval_minutes, "
            "bake_minutes",
        ),
        (
            {"type": "linear", "percent": 0, "interval_minutes": 5},
            "bluegreen_traffic.percent is 0: a whole number from 1 to 99",
        ),
        (
            {"type": "canary", "percent": 100, "interval_minutes": 5},
            "bluegreen_traffic.percent is 100: a whole number from 1 to 99",
        ),
        (
            {"type": "linear", "percent": "ten", "interval_minutes": 5},
            "bluegreen_traffic.percent is 'ten': a whole number from 1 to 99",
        ),
        (
            {"type": "linear", "percent": 10.5, "interval_minutes": 5},
            "bluegreen_traffic.percent is 10.5: a whole number from 1 to 99",
        ),
        (
            {"type": "linear", "percent": True, "interval_minutes": 5},
            "bluegreen_traffic.percent is True: a whole number from 1 to 99",
        ),
        ({"type": "linear", "interval_minutes": 5}, "bluegreen_traffic.percent is None: a whole number from 1 to 99"),
        (
            {"type": "linear", "percent": 10, "interval_minutes": 0},
            "bluegreen_traffic.interval_minutes is 0: a whole number from 1 to 2880",
        ),
        (
            {"type": "canary", "percent": 10},
            "bluegreen_traffic.interval_minutes is None: a whole number from 1 to 2880",
        ),
        (
            {"type": "all_at_once", "bake_minutes": -1},
            "bluegreen_traffic.bake_minutes is -1: a whole number from 0 to 2880",
        ),
        (
            {"type": "all_at_once", "bake_minutes": 2881},
            "bluegreen_traffic.bake_minutes is 2881: a whole number from 0 to 2880",
        ),
        ({"type": "all_at_once", "percent": 10}, "bluegreen_traffic: all_at_once takes no percent or interval_minutes"),
        (
            {"type": "all_at_once", "interval_minutes": 5},
            "bluegreen_traffic: all_at_once takes no percent or interval_minutes",
        ),
    ],
)
def test_a_plan_that_cannot_be_followed_is_refused_naming_what_is_wrong(value, message):
    with pytest.raises(TrafficPlanError) as refused:
        plan(value)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "value",
    [
        "linar",
        "linear-10-every",
        "linear-10-every-five",
        "linear-10-then-5",
        "canary-10-every-5",
        "all-at-once",
        "CodeDeployDefault.ECSLinear20PercentEvery1Minutes",
        "CodeDeployDefault.OneAtATime",
        "orders-prod-half-and-half",
    ],
)
def test_a_word_that_is_no_plan_is_refused_with_the_accepted_forms(value):
    with pytest.raises(
        TrafficPlanError, match=f'^traffic "{re.escape(value.strip())}" is not a traffic plan: use {ACCEPTED}$'
    ):
        plan(value, what="traffic")


@pytest.mark.parametrize("value", [5, ["linear", 10, 5], True])
def test_neither_a_word_nor_a_plan_is_refused_with_the_accepted_forms(value):
    with pytest.raises(TrafficPlanError, match=f"^bluegreen_traffic is {re.escape(repr(value))}: use {ACCEPTED}$"):
        plan(value)


@pytest.mark.parametrize("unset", [None, ""])
def test_no_plan_and_no_environments_plan_is_refused(unset):
    with pytest.raises(TrafficPlanError, match=f"^bluegreen_traffic is not set: use {ACCEPTED}$"):
        plan(unset)


@pytest.mark.parametrize("value", ["linear-0-every-5", "canary-100-then-5", "linear-10-every-0"])
def test_a_word_out_of_bounds_is_refused_as_its_plan_would_be(value):
    with pytest.raises(TrafficPlanError, match=r"^traffic\.(percent|interval_minutes) is \d+: a whole number from 1"):
        plan(value, what="traffic")


@pytest.mark.parametrize("digits", ["²", "٣"])
def test_digits_other_than_0_to_9_are_no_number(digits):
    """str.isdigit() says yes to superscripts (int() then fails) and to other scripts' digits."""
    with pytest.raises(TrafficPlanError, match=r"bluegreen_traffic\.percent is .*: a whole number from 1 to 99"):
        plan({"type": "linear", "percent": digits, "interval_minutes": 5})


# ---------------------------------------------------------------------------------------------
# Its word
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"type": "all_at_once", "bake_minutes": 3}, "all_at_once"),
        ({"type": "linear", "percent": 10, "interval_minutes": 5}, "linear-10-every-5"),
        ({"type": "canary", "percent": "20", "interval_minutes": "30"}, "canary-20-then-30"),
        ("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", "linear-10-every-3"),
        ("CodeDeployDefault.ECSCanary10Percent15Minutes", "canary-10-then-15"),
        ("orders-prod-linear-10-every-5", "linear-10-every-5"),
    ],
)
def test_the_word_round_trips_through_plan(value, expected):
    checked = plan(value, {"bake_minutes": 7})
    assert word(checked) == expected
    assert plan(word(checked), checked) == checked


# ---------------------------------------------------------------------------------------------
# What CodeDeploy is given
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(traffic.PREDEFINED))
def test_a_plan_codedeploy_predefines_uses_its_configuration(name):
    assert codedeploy_config(plan(name), ORDERS_PROD) == {"name": name, "routing": {}}
    # The same plan in any form, whatever its bake time (CodeDeploy's configurations have none).
    again = plan(word(plan(name)), {"bake_minutes": 60})
    assert codedeploy_config(again, ORDERS_PROD) == {"name": name, "routing": {}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "linear-10-every-5",
            {
                "name": "orders-prod-linear-10-every-5",
                "routing": {"type": "TimeBasedLinear", "percentage": 10, "interval": 5},
            },
        ),
        (
            {"type": "linear", "percent": 20, "interval_minutes": 1},
            {
                "name": "orders-prod-linear-20-every-1",
                "routing": {"type": "TimeBasedLinear", "percentage": 20, "interval": 1},
            },
        ),
        (
            "canary-10-then-30",
            {
                "name": "orders-prod-canary-10-then-30",
                "routing": {"type": "TimeBasedCanary", "percentage": 10, "interval": 30},
            },
        ),
        (
            "canary-5-then-5",
            {
                "name": "orders-prod-canary-5-then-5",
                "routing": {"type": "TimeBasedCanary", "percentage": 5, "interval": 5},
            },
        ),
    ],
)
def test_another_plan_is_a_configuration_of_the_environment(value, expected):
    config = codedeploy_config(plan(value), ORDERS_PROD)
    assert config == expected
    # Inside the IAM scope deploymentconfig:<environment>-*, and read back as the same plan.
    assert config["name"].startswith(ORDERS_PROD["environment"] + "-")
    assert plan(config["name"]) == plan(value)


# ---------------------------------------------------------------------------------------------
# What ECS is given
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"type": "all_at_once", "bake_minutes": 10}, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10}),
        ("CodeDeployDefault.ECSAllAtOnce", {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}),
        (
            {"type": "linear", "percent": 20, "interval_minutes": 1, "bake_minutes": 1},
            {
                "strategy": "LINEAR",
                "bakeTimeInMinutes": 1,
                "linearConfiguration": {"stepPercent": 20.0, "stepBakeTimeInMinutes": 1},
            },
        ),
        (
            "orders-prod-linear-10-every-5",
            {
                "strategy": "LINEAR",
                "bakeTimeInMinutes": 5,
                "linearConfiguration": {"stepPercent": 10.0, "stepBakeTimeInMinutes": 5},
            },
        ),
        (
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
            {
                "strategy": "CANARY",
                "bakeTimeInMinutes": 5,
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
            },
        ),
        (
            {"type": "canary", "percent": 1, "interval_minutes": 1440, "bake_minutes": 1440},
            {
                "strategy": "CANARY",
                "bakeTimeInMinutes": 1440,
                "canaryConfiguration": {"canaryPercent": 1.0, "canaryBakeTimeInMinutes": 1440},
            },
        ),
    ],
)
def test_a_plan_is_an_ecs_strategy(value, expected):
    assert ecs_strategy(plan(value)) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("linear-2-every-5", "traffic percentage 2: an ECS LINEAR step is 3 to 100 percent"),
        ("linear-10-every-1441", r"the minutes between traffic steps \(interval\) is 1441: ECS takes 0 to 1440"),
        (
            {"type": "all_at_once", "bake_minutes": 1441},
            r"the bake time \(bluegreen_traffic\.bake_minutes\) is 1441: ECS takes 0 to 1440",
        ),
    ],
)
def test_a_plan_ecs_refuses_is_refused_naming_why(value, message):
    checked = plan(value)  # a plan CodeDeploy could follow
    assert codedeploy_config(checked, ORDERS_PROD)["name"]
    with pytest.raises(EcsPlanError, match=message):
        ecs_strategy(checked)


# ---------------------------------------------------------------------------------------------
# The filters
# ---------------------------------------------------------------------------------------------


def test_the_filter_gives_the_checked_plan_its_word_and_codedeploys_configuration():
    environment = FILTERS["bluegreen_traffic_plan"](
        {"type": "linear", "percent": 10, "interval_minutes": 5, "bake_minutes": 30}, ORDERS_PROD
    )
    assert environment == {
        **full("linear", 10, 5, 30),
        "word": "linear-10-every-5",
        "codedeploy": {
            "name": "orders-prod-linear-10-every-5",
            "routing": {"type": "TimeBasedLinear", "percentage": 10, "interval": 5},
        },
    }
    # A deploy's word, over the environment's plan (its bake time; the filter's own keys are not a plan's).
    deploy = FILTERS["bluegreen_traffic_plan"]("canary-10-then-5", ORDERS_PROD, environment, "traffic")
    assert deploy == {
        **full("canary", 10, 5, 30),
        "word": "canary-10-then-5",
        "codedeploy": {"name": "CodeDeployDefault.ECSCanary10Percent5Minutes", "routing": {}},
    }
    # No word: the environment's plan.
    assert FILTERS["bluegreen_traffic_plan"](None, ORDERS_PROD, environment, "traffic") == environment
    assert FILTERS["bluegreen_traffic_plan"]("", ORDERS_PROD, environment, "traffic") == environment


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("linar", f'^traffic "linar" is not a traffic plan: use {ACCEPTED}$'),
        ({"type": "linar"}, "^traffic.type is 'linar': one of all_at_once, linear, canary$"),
        ({"type": "linear", "percent": 100, "interval_minutes": 1}, "^traffic.percent is 100: a whole number"),
    ],
)
def test_the_filter_refuses_a_bad_plan_as_a_filter_error(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS["bluegreen_traffic_plan"](value, ORDERS_PROD, None, "traffic")
    with pytest.raises(AnsibleFilterError, match=r"^bluegreen_traffic is not set"):
        FILTERS["bluegreen_traffic_plan"](None, ORDERS_PROD)


@pytest.mark.parametrize("tag", ["1.4.2", "v1", "latest", "_build", "sha-0a1b2c3", "1.4.2-rc.1_linux", "a" * 128])
def test_the_image_tag_filter_gives_a_valid_tag_back(tag):
    assert FILTERS["bluegreen_image_tag"](tag) == tag


@pytest.mark.parametrize(
    ("tag", "shown"),
    [
        ("1.4 2", "1.4 2"),
        ("-rc1", "-rc1"),
        (".hidden", ".hidden"),
        ("a" * 129, "a" * 129),
        ("", ""),
        ("1.4.2/x", "1.4.2/x"),
        ("v1:latest", "v1:latest"),
        (142, "142"),
        (None, "None"),
    ],
)
def test_the_image_tag_filter_refuses_an_invalid_tag(tag, shown):
    with pytest.raises(
        AnsibleFilterError, match=f'^ecs_service_image_tag "{re.escape(shown)}" is not a valid image tag'
    ):
        FILTERS["bluegreen_image_tag"](tag, "ecs_service_image_tag")
    with pytest.raises(AnsibleFilterError, match=r"^image_tag .* is not a valid image tag"):
        FILTERS["bluegreen_image_tag"](tag)


# ---------------------------------------------------------------------------------------------
# The inventories
# ---------------------------------------------------------------------------------------------

INVENTORY_FILES = sorted(
    [*REPO_ROOT.glob("inventories/*/group_vars/all/*.yml"), *REPO_ROOT.glob("inventories/*/services/*.yml")]
)
OLD_TRAFFIC_VARIABLES = ("codedeploy_deployment_config_name", "codedeploy_custom_traffic_routing")


def _variables(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def test_the_inventories_are_found():
    assert INVENTORY_FILES
    assert any("bluegreen_traffic" in _variables(path) for path in INVENTORY_FILES)


@pytest.mark.parametrize("path", INVENTORY_FILES, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_each_inventorys_plan_is_accepted_and_no_old_variable_overrides_it(path):
    variables = _variables(path)
    if "bluegreen_traffic" in variables:
        checked = plan(variables["bluegreen_traffic"])
        assert plan(word(checked), checked) == checked
    overriding = [name for name in OLD_TRAFFIC_VARIABLES if name in variables]
    assert not overriding, f"{path}: {overriding} would override bluegreen_traffic: say the plan there instead"


def test_an_inventory_ecs_deploys_has_a_plan_ecs_takes():
    inventories = {path.parents[2] for path in REPO_ROOT.glob("inventories/*/group_vars/all/*.yml")}
    ecs_inventories = 0
    for inventory in sorted(inventories):
        variables: dict = {}
        for path in sorted(inventory.glob("group_vars/all/*.yml")):
            variables.update(_variables(path))
        if variables.get("bluegreen_controller") != "ecs":
            continue
        ecs_inventories += 1
        environment = plan(variables["bluegreen_traffic"])
        assert ecs_strategy(environment)["strategy"] in ("BLUE_GREEN", "LINEAR", "CANARY")
        for path in sorted(inventory.glob("services/*.yml")):
            assert ecs_strategy(plan(_variables(path).get("bluegreen_traffic"), environment))
    assert ecs_inventories, "the sandbox's ECS inventory (inventories/local-ecs) is read"
