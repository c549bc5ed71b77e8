# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the ecs_service_deployment module and prints each change as it happens: the same plugin as
codedeploy_deployment's (both modules return `deployment_id`, `progress`, `finished` alike)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "bluegreen_action_codedeploy_deployment"
if _NAME not in sys.modules:
    # Ansible loads each action plugin by path, not as a package: load the shared one the same way.
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).resolve().parent / "codedeploy_deployment.py")
    if _spec is None or _spec.loader is None:  # pragma: no cover - the file is next to this one
        raise ImportError("action_plugins/codedeploy_deployment.py is missing")
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])

_STAGES = "bluegreen_ecs_for_action"
if _STAGES not in sys.modules:  # the pure model, by path too (module_utils is the modules' path, not the plugins')
    _spec = importlib.util.spec_from_file_location(
        _STAGES, Path(__file__).resolve().parent.parent / "module_utils" / "model" / "ecs.py"
    )
    if _spec is None or _spec.loader is None:  # pragma: no cover - the file is in this repository
        raise ImportError("module_utils/model/ecs.py is missing")
    sys.modules[_STAGES] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_STAGES])


class ActionModule(sys.modules[_NAME].ActionModule):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # Seconds per lifecycle stage over the whole wait (each module call's timeline is stamped with the time).
        timings = (result.get("deployment") or {}).get("timings")
        if isinstance(timings, dict):
            timings["lifecycle_stages"] = sys.modules[_STAGES].stage_seconds(result.get("progress") or [])
        return result
