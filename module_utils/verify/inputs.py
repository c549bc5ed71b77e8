"""The traffic plan this deploy uses (module_utils/model/traffic.py): under CodeDeploy, the ECS deployment config it
names exists; under the ECS controller, ECS takes it as a strategy."""

from __future__ import annotations

from ..model.ecs import EcsPlanError
from ..model.traffic import KEYS, ecs_strategy
from .core import Checks, Finding, error_code, failed, ok, refused


class InputChecks(Checks):
    def inputs(self) -> list[Finding]:
        """The deployment's traffic plan can be followed (CreateDeployment or UpdateService would refuse it after a
        task definition revision is registered, otherwise)."""
        plan = self.p.get("traffic") or {}
        if not plan:
            return []
        what = f"traffic={plan.get('word', plan.get('type'))}"
        if self.controller == "ecs":
            try:
                strategy = ecs_strategy({k: plan.get(k) for k in KEYS})
            except EcsPlanError as e:
                return [failed("inputs", what, str(e), "choose a plan ECS takes (docs/controllers.md)")]
            return [ok("inputs", what, f"ECS strategy {strategy['strategy']}")]
        name = plan["codedeploy"]["name"]
        codedeploy = self.client("codedeploy")
        try:
            config = codedeploy.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"]
        except Exception as e:
            # A name outside the environment's configs (<environment>-*) and CodeDeployDefault.* is one the deploy
            # credential may not read (docs/iam.md): either way, not a config this deploy can use.
            outside = not name.startswith((self.names["environment"] + "-", "CodeDeployDefault."))
            if not (error_code(e) == "DeploymentConfigDoesNotExistException" or (outside and refused(e))):
                raise
            known = [
                n
                for page in codedeploy.get_paginator("list_deployment_configs").paginate()
                for n in page.get("deploymentConfigsList", [])
                if n.startswith(("CodeDeployDefault.ECS", self.names["environment"] + "-"))
            ]
            return [
                failed(
                    "inputs",
                    what,
                    f"no such deployment config in this account and region ({name})",
                    f"use a plan whose config is one of {', '.join(sorted(known))}, or provision this plan as the "
                    "inventory's bluegreen_traffic",
                )
            ]
        if config.get("computePlatform") != "ECS":
            return [
                failed(
                    "inputs",
                    what,
                    f"{name} is a {config.get('computePlatform')} config: an ECS deployment needs an ECS one",
                    "use another plan",
                )
            ]
        routing = config.get("trafficRoutingConfig") or {}
        return [ok("inputs", what, f"{name}, traffic {routing.get('type', 'AllAtOnce')}")]
