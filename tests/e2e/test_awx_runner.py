"""deploy.yml run the way AWX runs a job: ansible-runner with a private data dir (inventory, extravars, env),
the project as AWX checks it out; asserted on the job events and the artifacts AWX reads (status, rc, the
set_stats a workflow passes on)."""

from __future__ import annotations

import json
import os

import ansible_runner
import pytest

from sandbox.harness import BIN, REPO


def run_job(sandbox, tmp_path, extravars: dict):
    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    # What AWX writes for a job: extravars (the survey's answers) and envvars (the credential's and the
    # job's environment) as files in the private data dir; the inventory from the project's source.
    (private / "env" / "extravars").write_text(json.dumps(extravars))
    envvars = {k: v for k, v in sandbox.env.items() if k.startswith("SANDBOX_")}
    (private / "env" / "envvars").write_text(json.dumps(envvars))
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(REPO),
        playbook="deploy.yml",
        inventory=str(REPO / "inventories" / "local" / "hosts.yml"),
        quiet=True,
        timeout=900,
    )


@pytest.fixture
def runner_path(monkeypatch):
    # An execution environment has ansible-playbook on its PATH; here it is the venv's.
    monkeypatch.setenv("PATH", f"{BIN}:{os.environ.get('PATH', '')}")


def custom_stats(result) -> dict:
    stats = [e for e in result.events if e["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    return stats[0]["event_data"].get("artifact_data", {})


def test_a_deploy_job_as_awx_runs_it(sandbox, tmp_path, runner_path):
    version = sandbox.next_version()
    result = run_job(sandbox, tmp_path, {"image_tag": version})

    assert result.status == "successful"
    assert result.rc == 0
    artifacts = tmp_path / "runner" / "artifacts" / result.config.ident
    assert (artifacts / "rc").read_text() == "0"
    assert (artifacts / "status").read_text() == "successful"
    deploy = [
        e
        for e in result.events
        if e["event"] == "runner_on_ok" and e["event_data"].get("task", "").startswith("Deploy, reporting")
    ]
    assert len(deploy) == 1
    assert deploy[0]["event_data"]["res"]["status"] == "Succeeded"
    stats = custom_stats(result)
    assert stats["deploy_status"] == "Succeeded"
    assert stats["deploy_image_tag"] == version
    assert stats["deploy_deployment_id"].startswith("d-")
    assert result.stats["failures"] == {}
    assert sandbox.versions_served(10) == {version: 10}


def test_a_failed_deploy_job_fails_with_its_reason_in_the_artifacts(sandbox, tmp_path, runner_path):
    before = sandbox.versions_served(5)
    result = run_job(sandbox, tmp_path, {"image_tag": "not a tag!"})

    assert result.status == "failed"
    assert result.rc == 2
    failed = [e for e in result.events if e["event"] == "runner_on_failed"]
    assert "is not a valid image tag" in failed[0]["event_data"]["res"]["msg"]
    assert sandbox.versions_served(5) == before
