"""The listener rule the ECS controller shifts a service's traffic with: how it is found among a listener's rules
(library/bluegreen_load_balancer_info.py reads it, library/bluegreen_listener_rule.py makes it once). Pure."""

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
