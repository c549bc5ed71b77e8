"""What a deployment does to the other services, through their APIs only (never reaching into them): ECS task
sets, ELB listeners and target groups, Lambda invocations, CloudWatch alarms, IAM roles.

Every failure the deployment cannot go on from is raised as `Abort` (status, error code, message, the
auto-rollback event it counts as), the one way a deployment ends early; the checks CreateDeploymentGroup
makes raise `ApiError`, as the API answers them.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.error
import urllib.request

import boto3
import botocore.exceptions
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.credentials import RefreshableCredentials

from sandbox.api_calls import ENGINE_APP_ID
from sandbox.codedeploy.model import ApiError

CLIENT_ERRORS = (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


class Abort(Exception):
    """Ends a deployment: status Failed or Stopped, why, and which auto-rollback event it counts as."""

    def __init__(
        self, status: str, code: str, message: str, rollback_event: str | None, diagnostics: dict | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.rollback_event = status, code, message, rollback_event
        self.diagnostics = diagnostics


def failed(code: str, message: str, diagnostics: dict | None = None) -> Abort:
    """A deployment failure that counts as DEPLOYMENT_FAILURE for auto-rollback."""
    return Abort("Failed", code, message, "DEPLOYMENT_FAILURE", diagnostics)


class Aws:
    """CodeDeploy's calls to the other services, made as AWS makes them: with the temporary credentials of the
    deployment group's service role (sts:AssumeRole by codedeploy.amazonaws.com, which the role's trust policy
    must allow), refreshed before they expire. A thread acts as one role at a time (`acting_as`)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.boto = BotoConfig(
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=5,
            read_timeout=30,
            user_agent_appid=ENGINE_APP_ID,
        )
        self.local = threading.local()
        self.lock = threading.Lock()
        self.sessions: dict[str, boto3.session.Session] = {}
        # (role ARN, client name) -> client: one per role and service, made once.
        self.clients: dict[tuple[str, str], object] = {}

    @contextlib.contextmanager
    def acting_as(self, role_arn: str | None, group_arn: str):
        previous = getattr(self.local, "role", None)
        self.local.role = (role_arn, group_arn)
        try:
            yield self
        finally:
            self.local.role = previous

    def credentials(self, role_arn: str, group_arn: str) -> dict:
        """The role's credentials from the sandbox's STS (for codedeploy.amazonaws.com, as CodeDeploy assumes it)."""
        request = urllib.request.Request(
            f"{self.cfg.aws_endpoint}/_sandbox/iam/assume-role",
            data=json.dumps(
                {"roleArn": role_arn, "service": "codedeploy.amazonaws.com", "session": "CodeDeploy"}
            ).encode(),
            headers={"X-Sandbox-Token": self.cfg.internal_token, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                found = json.loads(response.read())
        except urllib.error.HTTPError as e:
            reason = json.loads(e.read() or b"{}").get("message", str(e))
            raise failed(
                "IAM_ROLE_PERMISSIONS",
                f"CodeDeploy does not have the permissions required to assume the role {role_arn}: {reason}",
            ) from None
        return {
            "access_key": found["AccessKeyId"],
            "secret_key": found["SecretAccessKey"],
            "token": found["SessionToken"],
            "expiry_time": found["Expiration"],
        }

    def session(self) -> boto3.session.Session:
        role_arn, group_arn = getattr(self.local, "role", None) or (None, "")
        if not role_arn:
            raise failed("IAM_ROLE_MISSING", "The deployment group has no service role: CodeDeploy cannot act")
        with self.lock:
            session = self.sessions.get(role_arn)
        if session is None:
            credentials = RefreshableCredentials.create_from_metadata(
                metadata=self.credentials(role_arn, group_arn),
                refresh_using=lambda: self.credentials(role_arn, group_arn),
                method="sandbox-codedeploy-assume-role",
            )
            core = botocore.session.get_session()
            core._credentials = credentials
            session = boto3.session.Session(botocore_session=core, region_name=self.cfg.region)
            with self.lock:
                self.sessions[role_arn] = session
        return session

    def client(self, name: str):
        session = self.session()
        key = (self.local.role[0], name)
        with self.lock:
            if key not in self.clients:
                self.clients[key] = session.client(name, endpoint_url=self.cfg.aws_endpoint, config=self.boto)
            return self.clients[key]

    @property
    def ecs(self):
        return self.client("ecs")

    @property
    def elbv2(self):
        return self.client("elbv2")

    @property
    def awslambda(self):
        return self.client("lambda")

    @property
    def cloudwatch(self):
        return self.client("cloudwatch")

    # --- CreateDeploymentGroup / UpdateDeploymentGroup ---------------------------------------------------

    def check_group_resources(self, body: dict, group_arn: str) -> None:
        """The checks AWS makes against the group's ECS service, target groups, listeners and role: CodeDeploy
        assumes the service role (InvalidRoleException when it cannot) and reads the rest with it."""
        role = body.get("serviceRoleArn") or ""
        try:
            self.credentials(role, group_arn) if role else None
        except Abort as e:
            raise ApiError("InvalidRoleException", e.message) from None
        if not role:
            raise ApiError("InvalidRoleException", "The service role (none) does not exist")
        with self.acting_as(role, group_arn):
            self._check_group_resources(body)

    def _check_group_resources(self, body: dict) -> None:
        service = body["ecsServices"][0]
        try:
            found = self.ecs.describe_services(cluster=service["clusterName"], services=[service["serviceName"]])
        except botocore.exceptions.ClientError as e:
            raise ApiError("InvalidECSServiceException", f"ECS cluster {service['clusterName']}: {e}") from None
        services = [s for s in found.get("services", []) if s.get("status") == "ACTIVE"]
        if not services:
            raise ApiError(
                "InvalidECSServiceException",
                f"ECS service {service['serviceName']} not found in {service['clusterName']}",
            )
        if (services[0].get("deploymentController") or {}).get("type") != "CODE_DEPLOY":
            raise ApiError(
                "InvalidECSServiceException",
                f"ECS service {service['serviceName']} does not use the CODE_DEPLOY controller",
            )
        pair = body["loadBalancerInfo"]["targetGroupPairInfoList"][0]
        names = [tg["name"] for tg in pair["targetGroups"]]
        try:
            self.elbv2.describe_target_groups(Names=names)
        except botocore.exceptions.ClientError:
            raise ApiError("InvalidTargetGroupPairException", f"Target groups {names} must both exist") from None
        listeners = pair["prodTrafficRoute"]["listenerArns"] + (pair.get("testTrafficRoute") or {}).get(
            "listenerArns", []
        )
        try:
            self.elbv2.describe_listeners(ListenerArns=listeners)
        except botocore.exceptions.ClientError:
            raise ApiError("InvalidTargetGroupPairException", f"Listeners {listeners} must exist") from None

    # --- ECS ---------------------------------------------------------------------------------------------

    def service(self, cluster: str, service: str) -> dict:
        found = self.ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
        if not found:
            raise failed("INVALID_ECS_SERVICE", f"ECS service {service} not found in {cluster}")
        return found[0]

    def live_task_sets(self, target: dict | None) -> dict:
        """The service's task sets by id, as ECS reports them now ({} when they cannot be read)."""
        if not target:
            return {}
        try:
            return {ts["id"]: ts for ts in self.service(target["cluster"], target["service"]).get("taskSets", [])}
        except (Abort, *CLIENT_ERRORS):
            return {}

    def create_task_set(self, request: dict) -> dict:
        try:
            return self.ecs.create_task_set(**request)["taskSet"]
        except botocore.exceptions.ClientError as e:
            raise failed("ECS_UPDATE_ERROR", f"Could not create the replacement task set: {e}") from None

    def make_primary(self, target: dict, task_set_arn: str) -> None:
        self.ecs.update_service_primary_task_set(
            cluster=target["cluster"], service=target["service"], primaryTaskSet=task_set_arn
        )

    def delete_task_set(self, target: dict, task_set_id: str) -> None:
        """Deleted, or already gone."""
        try:
            self.ecs.delete_task_set(
                cluster=target["cluster"], service=target["service"], taskSet=task_set_id, force=True
            )
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] not in ("TaskSetNotFoundException", "InvalidParameterException"):
                raise

    # --- Elastic Load Balancing --------------------------------------------------------------------------

    def target_group_arns(self, names: list[str]) -> dict[str, str]:
        groups = self.elbv2.describe_target_groups(Names=names)["TargetGroups"]
        return {tg["TargetGroupName"]: tg["TargetGroupArn"] for tg in groups}

    def forward_weights(self, listener_arn: str) -> dict[str, int]:
        listener = self.elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
        weights: dict[str, int] = {}
        for action in listener.get("DefaultActions", []):
            if action.get("Type") != "forward":
                continue
            forward = (action.get("ForwardConfig") or {}).get("TargetGroups")
            if forward:
                for tg in forward:
                    weights[tg["TargetGroupArn"]] = int(tg.get("Weight", 1))
            elif action.get("TargetGroupArn"):
                weights[action["TargetGroupArn"]] = 1
        return weights

    def route(self, listener_arn: str, blue_arn: str, green_arn: str, green_weight: int) -> None:
        action: dict[str, object]
        if green_weight in (0, 100):
            action = {"Type": "forward", "TargetGroupArn": green_arn if green_weight == 100 else blue_arn}
        else:
            action = {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": blue_arn, "Weight": 100 - green_weight},
                        {"TargetGroupArn": green_arn, "Weight": green_weight},
                    ]
                },
            }
        self.elbv2.modify_listener(ListenerArn=listener_arn, DefaultActions=[action])

    # --- Lambda and CloudWatch ---------------------------------------------------------------------------

    def invoke_hook(self, event: str, function: str, deployment_id: str, execution_id: str) -> None:
        """Invoke the hook's function asynchronously with CodeDeploy's payload."""
        payload = {"DeploymentId": deployment_id, "LifecycleEventHookExecutionId": execution_id}
        try:
            self.awslambda.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode())
        except botocore.exceptions.ClientError as e:
            raise failed(
                "INVALID_LAMBDA_FUNCTION",
                f"The {event} hook could not invoke Lambda function {function}: "
                f"{e.response['Error'].get('Message', e)}",
                {
                    "errorCode": "ScriptMissing",
                    "scriptName": function,
                    "message": f"Lambda function {function} could not be invoked",
                    "logTail": "",
                },
            ) from None

    def check_alarms(self, alarm_configuration: dict) -> None:
        """Abort (Stopped, ALARM_ACTIVE) when one of the group's alarms is in ALARM or they cannot be read."""
        if not alarm_configuration.get("enabled") or not alarm_configuration.get("alarms"):
            return
        names = [a["name"] for a in alarm_configuration["alarms"]]
        try:
            found = self.cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
        except CLIENT_ERRORS as e:
            if alarm_configuration.get("ignorePollAlarmFailure"):
                return
            raise Abort(
                "Stopped", "ALARM_ACTIVE", f"Could not read the alarms {names}: {e}", "DEPLOYMENT_STOP_ON_ALARM"
            ) from None
        firing = sorted(a["AlarmName"] for a in found if a["StateValue"] == "ALARM")
        if firing:
            raise Abort(
                "Stopped",
                "ALARM_ACTIVE",
                f"One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, "
                f"and the affected deployments have been stopped. Activated alarms: <{', '.join(firing)}>",
                "DEPLOYMENT_STOP_ON_ALARM",
            )
