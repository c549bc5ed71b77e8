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

ActionModule = sys.modules[_NAME].ActionModule
