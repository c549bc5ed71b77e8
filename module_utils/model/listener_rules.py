"""The listener rule the ECS controller shifts a service's traffic with: how it is found among a listener's rules
and where it sends traffic (library/bluegreen_load_balancer_info.py reads it, library/bluegreen_listener_rule.py
makes it once and, for the way back to CodeDeploy, hands its traffic to the listener's default action). Pure."""

from __future__ import annotations


def forwarded_to(rule: dict) -> set[str]:
    """The target group ARNs a rule's forward actions name (simple or weighted)."""
    found = set()
    for action in rule.get("Actions") or []:
        if action.get("TargetGroupArn"):
            found.add(action["TargetGroupArn"])
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            found.add(group["TargetGroupArn"])
    return found


def pair_rule(rules: list[dict], pair) -> dict | None:
    """The first (by priority) non-default rule forwarding to either group of the pair, or None."""
    candidates = sorted((r for r in rules if not r.get("IsDefault")), key=lambda r: int(r["Priority"]))
    return next((r for r in candidates if forwarded_to(r) & set(pair)), None)


def weights(actions: list[dict]) -> dict[str, int]:
    """Each target group's weight in forward actions: a simple forward's group weighs 1 (ELB's default weight)."""
    found: dict[str, int] = {}
    for action in actions or []:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            for group in groups:
                found[group["TargetGroupArn"]] = found.get(group["TargetGroupArn"], 0) + int(group.get("Weight", 1))
        elif action.get("TargetGroupArn"):
            found[action["TargetGroupArn"]] = found.get(action["TargetGroupArn"], 0) + 1
    return found


def serving(actions: list[dict]) -> str | None:
    """The target group forward actions give the most weight (None when they forward nowhere)."""
    found = {arn: weight for arn, weight in weights(actions).items() if weight > 0}
    return max(found, key=lambda arn: found[arn]) if found else None


def served_from(listener: dict, rules: list[dict], pair) -> str | None:
    """The target group a listener serves from: the one its rule to the pair gives the most weight (the ECS
    controller's), else the one its default action forwards to (CodeDeploy's); None when neither forwards."""
    rule = pair_rule(rules, pair)
    return serving(rule["Actions"] if rule else listener.get("DefaultActions") or [])


def only_to(actions: list[dict], target_group_arn: str) -> bool:
    """Whether the actions forward every request to that one target group."""
    found = {arn for arn, weight in weights(actions).items() if weight > 0}
    return found == {target_group_arn} and all(a.get("Type") == "forward" for a in actions or [])
