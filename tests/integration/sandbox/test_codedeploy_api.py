"""The sandbox's CodeDeploy endpoint through boto3, as AWS's clients see it: validation, errors by their
AWS names, pagination, and state that survives a restart. The resources a group points at are in the
emulator; deployments are not run here (tests/e2e runs them)."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config as BotoConfig

from sandbox.codedeploy import server as codedeploy_server
from sandbox.codedeploy.effects import Aws, failed
from sandbox.codedeploy.engine import Engine
from sandbox.codedeploy.store import Store
from sandbox.config import Config

APPSPEC = json.dumps(
    {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/api:1",
                        "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8000},
                    },
                }
            }
        ],
        "Hooks": [{"AfterAllowTestTraffic": "api-validate"}],
    }
)


def revision(content: str = APPSPEC) -> dict:
    return {
        "revisionType": "AppSpecContent",
        "appSpecContent": {"content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()},
    }


@pytest.fixture
def resources(boto3_client) -> dict:
    """What an ECS deployment group points at, in the emulator."""
    ec2, elbv2, ecs, iam = (boto3_client(s) for s in ("ec2", "elbv2", "ecs", "iam"))
    name = f"api{uuid.uuid4().hex[:6]}"  # the emulator outlives a test
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"eu-west-1{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    groups = [
        elbv2.create_target_group(Name=f"{name}-{c}", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip")[
            "TargetGroups"
        ][0]["TargetGroupArn"]
        for c in ("blue", "green")
    ]
    balancer = elbv2.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[0]}],
    )["Listeners"][0]["ListenerArn"]
    role = iam.create_role(RoleName=f"{name}-codedeploy", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(family="api", containerDefinitions=[{"name": "web", "image": "api:1", "memory": 256}])
    ecs.create_service(
        cluster=name,
        serviceName="api",
        taskDefinition="api",
        desiredCount=1,
        deploymentController={"type": "CODE_DEPLOY"},
    )
    return {"listener": listener, "role": role, "name": name}


@pytest.fixture
def codedeploy(moto_endpoint, tmp_path, monkeypatch, boto3_client):
    """A running CodeDeploy endpoint; `restart()` starts a new one on the same SQLite state."""
    config = Config(home=str(tmp_path), aws_port=int(moto_endpoint.rsplit(":", 1)[1]))
    monkeypatch.setattr(Engine, "start", lambda self, deployment_id: None)  # deployments stay Created here
    # Plain moto here, without the sandbox's IAM authority: CodeDeploy "assumes" the group's role when the role
    # exists, and reads the group's resources with the emulator's dummy key (tests/e2e run IAM for real).
    expiry = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    iam = boto3_client("iam")

    def credentials(self, role: str, group: str) -> dict:
        try:
            iam.get_role(RoleName=role.rsplit("/", 1)[-1])
        except iam.exceptions.NoSuchEntityException:
            raise failed("IAM_ROLE_PERMISSIONS", f"The role {role} does not exist") from None
        return {"access_key": "testing", "secret_key": "testing", "token": None, "expiry_time": expiry}

    monkeypatch.setattr(Aws, "credentials", credentials)
    servers = []

    def start():
        store = Store(tmp_path / "codedeploy.sqlite3")
        handler = type("Handler", (codedeploy_server.Handler,), {})
        handler.api = codedeploy_server.CodeDeploy(store, Engine(store, config), "eu-west-1", "123456789012")
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return boto3.client(
            "codedeploy",
            endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            # The endpoint validates requests itself, as AWS does: let invalid ones reach it.
            config=BotoConfig(parameter_validation=False),
        )

    client = start()
    client.restart = lambda: (servers[-1].shutdown(), start())[1]
    yield client
    for server in servers:
        server.shutdown()


def group_request(resources: dict, **changes) -> dict:
    request = {
        "applicationName": "api",
        "deploymentGroupName": "api",
        "serviceRoleArn": resources["role"],
        "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
        "ecsServices": [{"clusterName": resources["name"], "serviceName": "api"}],
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "loadBalancerInfo": {
            "targetGroupPairInfoList": [
                {
                    "targetGroups": [{"name": f"{resources['name']}-blue"}, {"name": f"{resources['name']}-green"}],
                    "prodTrafficRoute": {"listenerArns": [resources["listener"]]},
                }
            ]
        },
        "blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
        },
        "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]},
        "alarmConfiguration": {"enabled": True, "alarms": [{"name": "api-5xx"}]},
    }
    request.update(changes)
    return request


def test_predefined_configs_and_custom_ones(codedeploy):
    names = codedeploy.get_paginator("list_deployment_configs").paginate().build_full_result()["deploymentConfigsList"]
    assert "CodeDeployDefault.ECSLinear10PercentEvery1Minutes" in names
    canary = codedeploy.get_deployment_config(deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes")
    assert canary["deploymentConfigInfo"]["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5},
    }
    linear = {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 1}}
    codedeploy.create_deployment_config(
        deploymentConfigName="api-linear", computePlatform="ECS", trafficRoutingConfig=linear
    )
    with pytest.raises(codedeploy.exceptions.DeploymentConfigAlreadyExistsException):
        codedeploy.create_deployment_config(
            deploymentConfigName="api-linear", computePlatform="ECS", trafficRoutingConfig=linear
        )
    with pytest.raises(codedeploy.exceptions.InvalidOperationException):
        codedeploy.delete_deployment_config(deploymentConfigName="CodeDeployDefault.ECSAllAtOnce")
    with pytest.raises(codedeploy.exceptions.DeploymentConfigDoesNotExistException):
        codedeploy.get_deployment_config(deploymentConfigName="nope")


def test_a_group_is_checked_as_aws_checks_it(codedeploy, resources):
    codedeploy.create_application(applicationName="api", computePlatform="ECS", tags=[{"Key": "team", "Value": "a"}])
    with pytest.raises(codedeploy.exceptions.InvalidDeploymentStyleException):
        codedeploy.create_deployment_group(
            **group_request(
                resources, deploymentStyle={"deploymentType": "IN_PLACE", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
            )
        )
    with pytest.raises(codedeploy.exceptions.InvalidECSServiceException, match="not found"):
        codedeploy.create_deployment_group(
            **group_request(resources, ecsServices=[{"clusterName": resources["name"], "serviceName": "x"}])
        )
    with pytest.raises(codedeploy.exceptions.InvalidRoleException):
        codedeploy.create_deployment_group(
            **group_request(resources, serviceRoleArn="arn:aws:iam::123456789012:role/none")
        )
    with pytest.raises(codedeploy.exceptions.InvalidECSServiceException, match="clusterName and serviceName"):
        codedeploy.create_deployment_group(**group_request(resources, ecsServices=[{"clusterName": "api"}]))
    without_role = {k: v for k, v in group_request(resources).items() if k != "serviceRoleArn"}
    with pytest.raises(codedeploy.exceptions.ClientError, match=r"ValidationException.*serviceRoleArn"):
        codedeploy.create_deployment_group(**without_role)

    codedeploy.create_deployment_group(**group_request(resources))
    group = codedeploy.get_deployment_group(applicationName="api", deploymentGroupName="api")["deploymentGroupInfo"]
    assert group["alarmConfiguration"] == {"enabled": True, "alarms": [{"name": "api-5xx"}]}
    codedeploy.update_deployment_group(
        applicationName="api", currentDeploymentGroupName="api", alarmConfiguration={"enabled": False, "alarms": []}
    )
    group = codedeploy.get_deployment_group(applicationName="api", deploymentGroupName="api")["deploymentGroupInfo"]
    assert group["alarmConfiguration"] == {"enabled": False, "alarms": []}
    assert group["ecsServices"] == [{"clusterName": resources["name"], "serviceName": "api"}]
    arn = "arn:aws:codedeploy:eu-west-1:123456789012:application:api"
    assert codedeploy.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]


def test_deployments_one_at_a_time_hook_status_and_a_restart(codedeploy, resources):
    codedeploy.create_application(applicationName="api", computePlatform="ECS")
    codedeploy.create_deployment_group(**group_request(resources))
    with pytest.raises(codedeploy.exceptions.InvalidRevisionException, match="sha256"):
        codedeploy.create_deployment(
            applicationName="api",
            deploymentGroupName="api",
            revision={**revision(), "appSpecContent": {"content": APPSPEC, "sha256": "0" * 64}},
        )
    first = codedeploy.create_deployment(applicationName="api", deploymentGroupName="api", revision=revision())
    deployment_id = first["deploymentId"]
    assert deployment_id.startswith("d-")
    assert len(deployment_id) == 11
    with pytest.raises(codedeploy.exceptions.DeploymentLimitExceededException, match=deployment_id):
        codedeploy.create_deployment(applicationName="api", deploymentGroupName="api", revision=revision())
    with pytest.raises(codedeploy.exceptions.InvalidLifecycleEventHookExecutionStatusException):
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId="x", status="InProgress"
        )
    with pytest.raises(codedeploy.exceptions.InvalidLifecycleEventHookExecutionIdException):
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment_id, lifecycleEventHookExecutionId="not-issued", status="Succeeded"
        )
    with pytest.raises(codedeploy.exceptions.DeploymentIsNotInReadyStateException):
        codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    assert codedeploy.stop_deployment(deploymentId=deployment_id)["status"] == "Pending"

    restarted = codedeploy.restart()
    info = restarted.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["status"] == "Created"
    # The revision survived the restart (GetDeployment shows only its sha256; the content is kept behind it).
    assert info["revision"]["appSpecContent"] == {"sha256": revision()["appSpecContent"]["sha256"]}
    assert info["deploymentOverview"]["Pending"] == 1
    listed = restarted.list_deployments(
        applicationName="api", deploymentGroupName="api", includeOnlyStatuses=["Created"]
    )
    assert listed["deployments"] == [deployment_id]
    with pytest.raises(restarted.exceptions.DeploymentDoesNotExistException):
        restarted.get_deployment(deploymentId="d-AAAAAAAAA")
    with pytest.raises(restarted.exceptions.InvalidDeploymentIdException):
        restarted.get_deployment(deploymentId="nope")


def test_a_config_is_refused_when_unknown_and_kept_while_a_deployment_uses_it(codedeploy, resources):
    codedeploy.create_application(applicationName="api", computePlatform="ECS")
    codedeploy.create_deployment_group(**group_request(resources))
    with pytest.raises(codedeploy.exceptions.DeploymentConfigDoesNotExistException):
        codedeploy.create_deployment(
            applicationName="api", deploymentGroupName="api", revision=revision(), deploymentConfigName="nope"
        )
    linear = {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 1}}
    codedeploy.create_deployment_config(
        deploymentConfigName="api-linear", computePlatform="ECS", trafficRoutingConfig=linear
    )
    deployment_id = codedeploy.create_deployment(
        applicationName="api", deploymentGroupName="api", revision=revision(), deploymentConfigName="api-linear"
    )["deploymentId"]
    with pytest.raises(codedeploy.exceptions.DeploymentConfigInUseException):
        codedeploy.delete_deployment_config(deploymentConfigName="api-linear")
    codedeploy.stop_deployment(deploymentId=deployment_id)


def test_batch_limits_and_withheld_appspec(codedeploy, resources):
    """As the API reference says: GetDeployment's AppSpec content is always null (GetApplicationRevision gives
    it by sha256), batch reads take at most 25 ids, ListDeployments filters by creation time."""
    codedeploy.create_application(applicationName="api", computePlatform="ECS")
    codedeploy.create_deployment_group(**group_request(resources))
    deployment_id = codedeploy.create_deployment(applicationName="api", deploymentGroupName="api", revision=revision())[
        "deploymentId"
    ]
    digest = revision()["appSpecContent"]["sha256"]

    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["revision"] == {"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}}
    (batched,) = codedeploy.batch_get_deployments(deploymentIds=[deployment_id])["deploymentsInfo"]
    assert "content" not in batched["revision"]["appSpecContent"]
    found = codedeploy.get_application_revision(
        applicationName="api", revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": digest}}
    )
    assert found["revision"]["appSpecContent"] == {"content": APPSPEC, "sha256": digest}
    assert found["revisionInfo"]["deploymentGroups"] == ["api"]
    with pytest.raises(codedeploy.exceptions.RevisionDoesNotExistException):
        codedeploy.get_application_revision(
            applicationName="api", revision={"revisionType": "AppSpecContent", "appSpecContent": {"sha256": "0" * 64}}
        )

    with pytest.raises(codedeploy.exceptions.BatchLimitExceededException):
        codedeploy.batch_get_deployments(deploymentIds=[deployment_id] * 26)
    with pytest.raises(codedeploy.exceptions.DeploymentTargetListSizeExceededException):
        codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=["x"] * 26)

    def listed(**window):
        return codedeploy.list_deployments(applicationName="api", deploymentGroupName="api", **window)["deployments"]

    assert listed(createTimeRange={"start": info["createTime"] - timedelta(minutes=1)}) == [deployment_id]
    assert listed(createTimeRange={"start": info["createTime"] + timedelta(minutes=1)}) == []


def test_a_deployment_created_without_sha256_keeps_no_way_to_read_its_appspec_back(codedeploy, resources):
    """`sha256` is optional in CreateDeployment, and whether AWS computes it when omitted is not documented: the
    sandbox keeps none (the strictest reading, docs/dev/fidelity-ledger.md), so GetDeployment shows no sha256 and the
    AppSpec cannot be found by the hash of its content. The hooks do not need it after Install (hooks/facts.py)."""
    codedeploy.create_application(applicationName="api", computePlatform="ECS")
    codedeploy.create_deployment_group(**group_request(resources))
    deployment_id = codedeploy.create_deployment(
        applicationName="api",
        deploymentGroupName="api",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": APPSPEC}},
    )["deploymentId"]

    info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["revision"] == {"revisionType": "AppSpecContent", "appSpecContent": {}}
    with pytest.raises(codedeploy.exceptions.RevisionDoesNotExistException):
        codedeploy.get_application_revision(
            applicationName="api",
            revision={
                "revisionType": "AppSpecContent",
                "appSpecContent": {"sha256": revision()["appSpecContent"]["sha256"]},
            },
        )
