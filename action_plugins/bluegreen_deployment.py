# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the bluegreen_deployment module, and while it waits prints each change as it happens, whichever controller
runs the deployment.

A module cannot write to the job log while it runs. With `report_every` set, on a local connection (the plays run
their AWS calls on the controller: inventories/shared/application.yml) the module appends each change to a file as
it sees it and this plugin prints the file as it grows: one module run follows the whole deployment, and a line
appears as soon as the module saw the change. Elsewhere the module runs in steps: each step returns at the first
change (or after `report_every` seconds), its lines are printed, and the next step follows the same deployment by
id. Either way an operator watching a terminal or an AWX job sees every lifecycle event and traffic step, and
never waits more than `report_every` seconds for a line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

# Controller plugins are imported without ansible.cfg's module_utils path (that path is for modules, which AnsiballZ
# ships as ansible.module_utils.*): import the same files as the filters and the tests do, from the repository root.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.append(_ROOT)

from module_utils.controllers import CONTROLLERS  # noqa: E402

display = Display()


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        module = self._task.action
        if args.get("report_every") and getattr(self._connection, "transport", None) == "local":
            return {**result, **self._lifecycle(self._in_one_run(module, args, task_vars))}
        step = self._execute_module(module_name=module, module_args=args, task_vars=task_vars)
        if not args.get("report_every") or step.get("finished", True) or step.get("failed"):
            self._show(step, None)
            return {**result, **self._lifecycle(step)}

        started = time.monotonic()
        total = int(args.get("wait_timeout") or 3600)
        changed, timeline = bool(step.get("changed")), []
        self._show(step, started)
        timeline.extend(step.get("progress") or [])
        # Later steps only wait, with the original state's meaning (a rollback ends `stopped` as expected).
        # `resume`: what a later step must know of the first (a rollback's mode).
        follow = {**args, **(step.get("resume") or {}), "follow": True, "deployment_id": step["deployment_id"]}
        while not step.get("finished", True) and not step.get("failed"):
            remaining = total - int(time.monotonic() - started)
            follow["wait_timeout"] = max(remaining, 1)
            follow["progress_since"] = step.get("deployment")
            step = self._execute_module(module_name=module, module_args=follow, task_vars=task_vars)
            self._show(step, started)
            timeline.extend(step.get("progress") or [])
        step["progress"] = timeline
        step["changed"] = changed or bool(step.get("changed"))
        return {**result, **self._lifecycle(step)}

    def _in_one_run(self, module, args, task_vars):
        """One module run, printing each change from the progress file it writes while it waits."""
        handle, path = tempfile.mkstemp(prefix="bluegreen-progress-", suffix=".jsonl")
        os.close(handle)
        done = threading.Event()
        printer = threading.Thread(target=_print_from, args=(path, done, time.monotonic()), daemon=True)
        printer.start()
        try:
            return self._execute_module(
                module_name=module, module_args={**args, "progress_file": path}, task_vars=task_vars
            )
        finally:
            done.set()
            printer.join(10)
            os.unlink(path)

    @staticmethod
    def _lifecycle(step):
        """Seconds per lifecycle event or stage over the whole wait (the controller says how it reads them)."""
        deployment = step.get("deployment")
        controller = CONTROLLERS.get(step.get("controller"))
        if isinstance(deployment, dict) and controller is not None:
            deployment["lifecycle_seconds"] = controller.lifecycle_seconds(deployment, step.get("progress") or [])
        return step

    def _show(self, step, started):
        # A CodeDeploy deployment id (d- and nine characters), or the last part of an ECS service deployment's ARN.
        deployment_id = (step.get("deployment_id") or "").rsplit("/", 1)[-1]
        for entry in step.get("progress") or []:
            display.display(f"  {deployment_id} {entry.get('time', '')[11:19]} {entry['message']}")
        if started is not None and not step.get("progress") and not step.get("finished", True):
            weights = (step.get("deployment") or {}).get("traffic") or {}
            display.display(
                f"  {deployment_id} still {step.get('status')} after {time.monotonic() - started:.0f}s"
                + (f" (replacement at {weights['replacement']:g}%)" if weights.get("replacement") is not None else "")
            )


def _print_from(path, done, started):
    """Print each line the module appends to `path` as it comes, until `done` and the file is read to its end."""
    pending = ""
    with open(path, encoding="utf-8") as handle:
        while True:
            chunk = handle.readline()
            if chunk:
                pending += chunk
                if pending.endswith("\n"):
                    _display(json.loads(pending), started)
                    pending = ""
                continue
            if done.is_set():
                return
            time.sleep(0.1)


def _display(entry, started):
    # A CodeDeploy deployment id (d- and nine characters), or the last part of an ECS service deployment's ARN.
    deployment_id = (entry.get("deployment_id") or "").rsplit("/", 1)[-1]
    if "message" in entry:
        display.display(f"  {deployment_id} {entry.get('time', '')[11:19]} {entry['message']}")
        return
    replacement = entry.get("replacement")
    display.display(
        f"  {deployment_id} still {entry.get('still')} after {time.monotonic() - started:.0f}s"
        + (f" (replacement at {replacement:g}%)" if replacement is not None else "")
    )
