"""playbooks/awx_configure.yml, checked as far as it can be without an AWX controller: every task's arguments
against the argument spec of the awx.awx module it calls (read from the module itself), and what the
templates point at (playbooks, inventories, survey variables) exists in the project."""

from __future__ import annotations

import importlib
from pathlib import Path
from unittest import mock

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.awx.awx.plugins.module_utils import controller_api

from module_utils.iam import OPERATOR_ACCESS

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "awx_configure.yml"
DUMMIES = {"str": "x", "int": 1, "bool": True, "list": [], "dict": {}, "raw": "x", "path": "/x", "float": 1.0}


class _Captured(Exception):
    pass


def argument_spec(module_name: str) -> dict:
    """The module's own argument spec, as its main() builds it (plus the controller connection options)."""
    module = importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{module_name}")
    captured: dict = {}

    def capture(self, argument_spec=None, **_kwargs):
        captured.update(controller_api.ControllerModule.AUTH_ARGSPEC)
        captured.update(argument_spec or {})
        raise _Captured

    with mock.patch.object(controller_api.ControllerAPIModule, "__init__", capture), pytest.raises(_Captured):
        module.main()
    return captured


def play() -> dict:
    return yaml.safe_load(PLAYBOOK.read_text())[0]


def awx_tasks() -> list[tuple[str, str, dict]]:
    found = []
    for task in play()["tasks"]:
        for key, value in task.items():
            if key.startswith("awx.awx."):
                found.append((task["name"], key.removeprefix("awx.awx."), value))
    return found


def templated(value) -> bool:
    return isinstance(value, str) and "{{" in value


@pytest.mark.parametrize(("task", "module_name", "params"), awx_tasks(), ids=lambda v: v if isinstance(v, str) else "")
def test_each_task_gives_its_module_valid_arguments(task, module_name, params):
    spec = argument_spec(module_name)
    names = set(spec) | {alias for option in spec.values() for alias in option.get("aliases", [])}
    assert set(params) <= names, f"{task}: unknown options {sorted(set(params) - names)}"
    # Values decided at run time are replaced by a value of the option's type; literal ones are checked as written.
    concrete = {
        name: (DUMMIES[spec[name].get("type", "str")] if templated(value) and name in spec else value)
        for name, value in params.items()
    }
    result = ArgumentSpecValidator(spec).validate(concrete)
    assert not result.error_messages, f"{task}: {result.error_messages}"


def test_there_is_something_to_check():
    modules = {module_name for _, module_name, _ in awx_tasks()}
    assert modules == {
        "execution_environment",
        "project",
        "notification_template",
        "inventory",
        "inventory_source",
        "job_template",
        "workflow_job_template",
        "schedule",
    }


def test_what_the_templates_point_at_exists():
    variables = play()["vars"]
    for template in variables["__awx_job_templates"]:
        assert (REPO / template["playbook"]).is_file(), template
    for environment in variables["awx_environments"]:
        assert (REPO / "inventories" / environment / "hosts.yml").is_file()
        assert (REPO / "inventories" / environment / "group_vars" / "all").is_dir()
    deploy = (REPO / "playbooks" / "deploy.yml").read_text()
    for question in variables["__awx_deploy_survey"]["spec"]:
        assert question["variable"] in deploy, question
    rollback = next(t for t in variables["__awx_job_templates"] if t["name"] == "rollback")
    assert rollback["survey"]["spec"][0]["variable"] in (REPO / "playbooks" / "rollback.yml").read_text()


def test_no_secret_is_in_the_playbook():
    slack = next(t for t in play()["tasks"] if "Slack" in t["name"])
    assert slack["no_log"] is True
    token = slack["awx.awx.notification_template"]["notification_configuration"]["token"]
    assert token == "{{ lookup('ansible.builtin.env', 'AWX_SLACK_TOKEN') }}"
    job_templates = next(t for t in play()["tasks"] if "awx.awx.job_template" in t)
    assert job_templates["awx.awx.job_template"]["credentials"] == [
        "{{ awx_application }}-{{ item.0 }}-{{ item.1.access }}"
    ]


def test_each_job_template_runs_with_the_credential_of_its_playbooks_access():
    """One AWX credential per environment and access: a job template gets the access its playbook declares
    (module_utils/bluegreen_iam.OPERATOR_ACCESS, which a model test checks against each playbook)."""
    declared = {p: access for access, spec in OPERATOR_ACCESS.items() for p in spec["playbooks"]}
    declared["deploy.yml"] = declared["playbooks/deploy.yml"]  # the root deploy.yml imports it
    for template in play()["vars"]["__awx_job_templates"]:
        assert template["access"] == declared[template["playbook"]], template["name"]
