"""The deployment controllers behind library/bluegreen_deployment.py and library/bluegreen_deployment_info.py: one
class per way of deploying (controllers/base.py says what each implements)."""

from __future__ import annotations

from .codedeploy import CodeDeployController
from .ecs import EcsController

CONTROLLERS = {controller.name: controller for controller in (CodeDeployController, EcsController)}


def controller_of(module):
    """The module's `controller`, or its `names`' (the bluegreen role adds it); refused clearly when neither is one."""
    name = module.params.get("controller") or (module.params.get("names") or {}).get("controller")
    if name not in CONTROLLERS:
        module.fail_json(
            msg=f"controller is {name!r}: set bluegreen_controller to one of {', '.join(sorted(CONTROLLERS))} "
            "(docs/controllers.md), or give the module controller="
        )
    return name
