"""The CodeDeploy modules through ansible-playbook against the AWS emulator (what it supports)."""

from __future__ import annotations

import uuid
from pathlib import Path

PLAYBOOKS = Path(__file__).parent / "playbooks"


def test_modules_against_the_emulator(ansible_playbook, boto3_client) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    result = ansible_playbook(PLAYBOOKS / "codedeploy_modules.yml", "-e", f"test_prefix={prefix}")
    assert "failed=0" in result.stdout

    # What the playbook left, read straight from the API with boto3.
    codedeploy = boto3_client("codedeploy")
    group = codedeploy.get_deployment_group(
        applicationName=f"{prefix}-orders", deploymentGroupName=f"{prefix}-orders-prod"
    )["deploymentGroupInfo"]
    assert group["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert group["blueGreenDeploymentConfiguration"]["terminateBlueInstancesOnDeploymentSuccess"] == {
        "action": "TERMINATE",
        "terminationWaitTimeInMinutes": 5,
    }
    deployments = codedeploy.list_deployments(
        applicationName=f"{prefix}-orders", deploymentGroupName=f"{prefix}-orders-prod"
    )["deployments"]
    assert len(deployments) == 1
    revision = codedeploy.get_deployment(deploymentId=deployments[0])["deploymentInfo"]["revision"]
    assert revision["revisionType"] == "AppSpecContent"
    assert "task-definition/orders:42" in revision["appSpecContent"]["content"]
