"""The load balancer exists, and which listeners carry production and test traffic (as the deployment group names
them, or under the ECS controller the service's listener rules): reachability and TLS check those."""

from __future__ import annotations

from .core import Checks, Finding, error_code, failed


class LoadBalancerChecks(Checks):
    def load_balancer(self) -> list[Finding]:
        elbv2 = self.client("elbv2")
        try:
            balancer = elbv2.describe_load_balancers(Names=[self.names["load_balancer"]])["LoadBalancers"][0]
        except Exception as e:
            if error_code(e) != "LoadBalancerNotFound":
                raise
            return [
                failed(
                    "reachability",
                    self.names["load_balancer"],
                    "the load balancer does not exist",
                    f"run playbooks/provision.yml -i inventories/{self.names['env']}",
                )
            ]
        self.facts.load_balancer = balancer
        return []

    def _listeners(self) -> dict[str, dict]:
        """The production and test listeners, as the deployment group names them (or, under the ECS controller,
        the listeners of the service's production and test listener rules)."""
        if self.controller == "ecs":
            return self._rule_listeners()
        if self.facts.listeners or not self.facts.group:
            return self.facts.listeners
        pairs = (self.facts.group.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}]
        routes = {
            "production": (pairs[0].get("prodTrafficRoute") or {}).get("listenerArns", []),
            "test": (pairs[0].get("testTrafficRoute") or {}).get("listenerArns", []),
        }
        arns = [a for listeners in routes.values() for a in listeners]
        if not arns:
            return {}
        found = {x["ListenerArn"]: x for x in self.client("elbv2").describe_listeners(ListenerArns=arns)["Listeners"]}
        self.facts.listeners = {kind: found[a[0]] for kind, a in routes.items() if a and a[0] in found}
        return self.facts.listeners

    def _rule_listeners(self) -> dict[str, dict]:
        if self.facts.listeners or not self.facts.service:
            return self.facts.listeners
        balancers = self.facts.service.get("loadBalancers") or [{}]
        advanced = balancers[0].get("advancedConfiguration") or {}
        # A rule's ARN is its listener's with /<rule id> added (listener-rule/app/<lb>/<id>/<listener>/<rule>).
        routes = {
            kind: advanced[key].replace(":listener-rule/", ":listener/").rsplit("/", 1)[0]
            for kind, key in (("production", "productionListenerRule"), ("test", "testListenerRule"))
            if advanced.get(key)
        }
        if not routes:
            return {}
        found = {
            x["ListenerArn"]: x
            for x in self.client("elbv2").describe_listeners(ListenerArns=sorted(set(routes.values())))["Listeners"]
        }
        self.facts.listeners = {kind: found[arn] for kind, arn in routes.items() if arn in found}
        return self.facts.listeners
