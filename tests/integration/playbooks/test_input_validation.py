"""Bad input to the operator playbooks: a clear error, before any AWS call."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy.yml"


@pytest.fixture
def no_aws(aws_env: dict[str, str]) -> dict[str, str]:
    """AWS unreachable: any AWS call would fail with a connection error instead of our message."""
    aws_env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    return aws_env


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "image_tag is required: -e image_tag=1.4.2"),
        (["-e", "image_tag='1.4 2'"], 'image_tag "1.4 2" is not a valid image tag'),
        (["-e", "image_tag=-rc1"], 'image_tag "-rc1" is not a valid image tag'),
        (["-e", "image_tag=" + "x" * 129], "is not a valid image tag"),
        (["-e", "image_tag=1.4.2", "-e", "deployment_config='all at once'"], 'deployment_config "all at once" is not'),
        (["-e", "image_tag=1.4.2", "-e", "deploy_report_every=0"], "deploy_report_every must be a positive number"),
    ],
)
def test_deploy_rejects_bad_image_tags_before_any_aws_call(ansible_playbook, no_aws, extra, message) -> None:
    result = ansible_playbook(DEPLOY, "-i", "inventories/dev", *extra, inventory=None, check=False)
    assert result.returncode == 2
    assert message in result.stdout
    assert "Could not connect" not in result.stdout + result.stderr
    assert "TASK [Read the deployment group" not in result.stdout


@pytest.mark.parametrize(
    ("inventory", "service", "message"),
    [
        # A typo must not act on another service: the environment's services are named.
        ("local", "wroker", 'local has no service "wroker": the services are orders, worker'),
        ("dev", "Worker", "the service 'Worker' is not usable in AWS names"),
    ],
)
def test_a_service_that_is_not_the_environments_is_refused_before_any_aws_call(
    ansible_playbook, no_aws, inventory, service, message
) -> None:
    result = ansible_playbook(
        DEPLOY,
        "-i",
        f"inventories/{inventory}",
        "-e",
        "image_tag=1.4.2",
        "-e",
        f"service={service}",
        inventory=None,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stdout
    assert "TASK [Read the deployment group" not in result.stdout


def test_a_deploy_that_cannot_reach_aws_says_only_what_it_knows(ansible_playbook, no_aws) -> None:
    """Nothing could be read: the failure says no deployment was created, and that production's state is not
    known from here (not that it "still serves the previous version")."""
    result = ansible_playbook(DEPLOY, "-i", "inventories/dev", "-e", "image_tag=1.4.2", inventory=None, check=False)
    assert result.returncode == 2
    assert "No deployment was created: this run did not change what production serves" in result.stdout
    assert "so what production serves is not known here" in result.stdout
    assert "still serves the previous version" not in result.stdout


def test_deploy_to_an_unknown_environment_is_an_error(ansible_playbook, no_aws) -> None:
    result = ansible_playbook(DEPLOY, "-i", "inventories/qa", "-e", "image_tag=1.4.2", inventory=None, check=False)
    assert result.returncode != 0
    assert "inventories/qa" in result.stderr
    assert "TASK [" not in result.stdout


def test_prod_rollback_needs_confirmation(ansible_playbook, no_aws) -> None:
    result = ansible_playbook(
        REPO_ROOT / "playbooks" / "rollback.yml", "-i", "inventories/prod", inventory=None, check=False
    )
    assert result.returncode == 2
    assert "Rolling back production: confirm with -e confirm_rollback=orders-prod" in result.stdout


def test_prod_teardown_needs_confirmation(ansible_playbook, no_aws) -> None:
    result = ansible_playbook(
        REPO_ROOT / "playbooks" / "teardown.yml", "-i", "inventories/prod", inventory=None, check=False
    )
    assert result.returncode == 2
    assert "Confirm with -e confirm_teardown=orders-prod" in result.stdout


@pytest.mark.parametrize("playbook", sorted(p.name for p in (REPO_ROOT / "playbooks").glob("*.yml")))
def test_every_playbook_passes_syntax_check(ansible_playbook, no_aws, playbook) -> None:
    ansible_playbook(REPO_ROOT / "playbooks" / playbook, "-i", "inventories/prod", "--syntax-check", inventory=None)
