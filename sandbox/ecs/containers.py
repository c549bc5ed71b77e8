"""What a task's container needs before it starts, as ECS's agent gets it: the image (through the sandbox's image
mapping: image -> command), the task execution role's image pull, secrets and log stream, a network path from the
task's subnet to the AWS endpoints it needs, and the task role's credentials endpoint. A task that cannot start
stops with the error ECS gives (CannotPullContainerError, ResourceInitializationError naming the secret or the log
group)."""

from __future__ import annotations

import os
import re
import secrets
import sys
from typing import Any


class LaunchError(Exception):
    pass


def _repo():
    from sandbox.config import REPO

    return REPO


class ContainerSetup:
    """The agent's preparation of a task's container (sandbox/ecs/agent.py starts the process)."""

    cfg: Any
    plane: Any

    def container_process(self, container: dict, task, ip: str, port) -> tuple[list[str], dict, str]:
        image = container.get("image", "")
        spec = self.cfg_images().image(image)
        if spec is None:
            raise LaunchError(
                f"CannotPullContainerError: {image} is not in the sandbox's image mapping "
                f"({self.cfg.state / 'config.json'})"
            )
        override: dict = next(
            (o for o in (task.overrides or {}).get("containerOverrides", []) if o.get("name") == container.get("name")),
            {},
        )
        definition = self.plane.backend("ecs").describe_task_definition(task.task_definition_arn)
        execution_role = getattr(definition, "execution_role_arn", None)
        self.check_aws_path(container, image, task)
        self.pull(image, execution_role, task)
        values = {"python": sys.executable, "repo": str(_repo()), "ip": ip, "port": str(port or "")}
        command = override.get("command") or container.get("command") or spec["command"]
        command = [part.format(**values) for part in command]
        if command and command[0] in ("python", "python3"):
            command[0] = sys.executable
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(self.cfg.state)}
        environment.update({e["name"]: e["value"] for e in container.get("environment") or []})
        environment.update({e["name"]: e["value"] for e in override.get("environment") or []})
        for secret in container.get("secrets") or []:
            environment[secret["name"]] = self.secret(secret["valueFrom"], execution_role, task)
        self.check_log_stream(container, execution_role, task)
        environment.update({k: v.format(**values) for k, v in (spec.get("environment") or {}).items()})
        environment["ECS_CONTAINER_METADATA_URI_V4"] = ""
        # Where the SDKs find AWS (the region, as Fargate sets it; here also the sandbox's endpoints) and the task
        # role's credentials.
        environment.update(self.cfg.endpoint_environment())
        task_role = (task.overrides or {}).get("taskRoleArn") or getattr(definition, "task_role_arn", None)
        if task_role and self.plane.endpoints is not None:
            token = secrets.token_hex(16)
            self.plane.endpoints.task_roles[task.id] = (token, task_role, task.task_arn)
            environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = (
                f"{self.cfg.aws_endpoint}/_sandbox/iam/task-credentials/{task.id}"
            )
            environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token
        return command, environment, spec.get("workdir", "{repo}").format(**values)

    def check_aws_path(self, container: dict, image: str, task) -> None:
        """Before a Fargate task starts, its agent pulls the image, reads its secrets and opens its log stream from
        the task's subnet: through a NAT gateway, or the VPC endpoints of ECR (api, dkr) and S3 for an ECR image,
        Secrets Manager / SSM, CloudWatch Logs. Without a path the connection times out and the task stops."""
        from sandbox.ec2 import network

        subnet = next(
            (
                detail.get("value")
                for attachment in list(task.attachments)
                for detail in attachment.get("details", [])
                if detail.get("name") == "subnetId"
            ),
            None,
        )
        if not subnet:
            return
        path = network.aws_path(self.plane.backend("ec2"), subnet, self.cfg.region)
        if path.nat:
            return
        timeout = "dial tcp: i/o timeout"
        ecr = re.match(r"^\d{12}\.dkr\.ecr\.", image)
        if ecr and not all(path.reaches(s) for s in ("ecr.api", "ecr.dkr", "s3")):
            raise LaunchError(
                "ResourceInitializationError: unable to pull secrets or registry auth: The task cannot pull registry "
                f"auth from Amazon ECR: There is a connection issue between the task and Amazon ECR. Check your task "
                f"network configuration. ({subnet}: {timeout})"
            )
        if not ecr:
            raise LaunchError(
                f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
                f"{image}: {timeout} (subnet {subnet} has no route to the internet)"
            )
        for secret in container.get("secrets") or []:
            service = "ssm" if ":ssm:" in secret["valueFrom"] else "secretsmanager"
            if not path.reaches(service):
                raise LaunchError(
                    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
                    f"retrieval failed: unable to retrieve secret from {service}: {timeout} ({subnet})"
                )
        if (container.get("logConfiguration") or {}).get("logDriver") == "awslogs" and not path.reaches("logs"):
            raise LaunchError(f"ResourceInitializationError: failed to validate logger args: {timeout} ({subnet})")

    def execution_role(self, role_arn: str | None, task):
        from sandbox.iam.authority import RoleNotAssumable

        if not role_arn:
            return None
        try:
            self.plane.authority.assume_for_service(role_arn, "ecs-tasks.amazonaws.com", task.id)
        except RoleNotAssumable as e:
            raise LaunchError(f"ResourceInitializationError: unable to assume the task execution role: {e}") from None
        return self.plane.authority.role_session(role_arn, task.id)

    def pull(self, image: str, role_arn: str | None, task) -> None:
        """An ECR image is pulled with the execution role (ecr:GetAuthorizationToken, ecr:BatchGetImage,
        ecr:GetDownloadUrlForLayer); another registry's public image needs none."""
        from sandbox.iam.authority import Denied

        match = re.match(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)", image)
        if not match:
            return
        caller = self.execution_role(role_arn, task)
        if caller is None:
            raise LaunchError(f"CannotPullContainerError: {image}: an ECR image needs a task execution role")
        repository = f"arn:aws:ecr:{match.group(2)}:{match.group(1)}:repository/{match.group(3)}"
        try:
            for action, resource in (
                ("ecr:GetAuthorizationToken", "*"),
                ("ecr:BatchGetImage", repository),
                ("ecr:GetDownloadUrlForLayer", repository),
            ):
                self.plane.authority.require(caller, action, [(resource, {})], "ecs-agent")
        except Denied as e:
            raise LaunchError(f"CannotPullContainerError: pull image manifest has been retried: {e}") from None

    def check_log_stream(self, container: dict, role_arn: str | None, task) -> None:
        """The awslogs driver creates the container's log stream with the execution role when the task starts."""
        from sandbox.iam.authority import Denied

        configuration = container.get("logConfiguration") or {}
        group = (configuration.get("options") or {}).get("awslogs-group")
        if configuration.get("logDriver") != "awslogs" or not group:
            return
        caller = self.execution_role(role_arn, task)
        arn = f"arn:aws:logs:{self.cfg.region}:{self.cfg_account()}:log-group:{group}:log-stream:*"
        try:
            if caller is None:
                raise LaunchError("ResourceInitializationError: the awslogs log driver needs a task execution role")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                self.plane.authority.require(caller, action, [(arn, {})], "ecs-agent")
        except Denied as e:
            raise LaunchError(f"ResourceInitializationError: failed to validate logger args: {e}") from None

    @staticmethod
    def cfg_account() -> str:
        from sandbox.config import ACCOUNT_ID

        return ACCOUNT_ID

    def cfg_images(self):
        from sandbox import config as sandbox_config

        # Re-read, so an image added while the sandbox runs is used by the next task.
        return sandbox_config.load(self.cfg.state)

    def secret(self, reference: str, role_arn: str | None, task) -> str:
        """A secret, read with the task execution role as ECS reads it (secretsmanager:GetSecretValue on the
        secret's full ARN; ssm:GetParameters for a parameter)."""
        from moto.core.exceptions import JsonRESTError

        from sandbox.iam.authority import Denied

        caller = self.execution_role(role_arn, task)
        if caller is None:
            raise LaunchError(
                f"ResourceInitializationError: unable to pull secrets: {reference}: no task execution role"
            )
        arn = reference.partition(":::")[0]  # arn:...:secret:name[:json-key::]
        if ":ssm:" in arn:
            name = arn.split(":parameter", 1)[-1]
            try:
                self.plane.authority.require(caller, "ssm:GetParameters", [(arn, {})], "ecs-agent")
                return str(self.plane.backend("ssm").get_parameter(name).value)
            except Denied as e:
                raise LaunchError(f"ResourceInitializationError: unable to pull secrets: {e}") from None
            except Exception as e:
                raise LaunchError(f"ResourceInitializationError: unable to pull secrets: {reference}: {e}") from None
        backend = self.plane.backend("secretsmanager")
        try:
            full = backend.describe_secret(arn).arn
        except Exception:
            full = arn
        try:
            self.plane.authority.require(caller, "secretsmanager:GetSecretValue", [(full, {})], "ecs-agent")
        except Denied as e:
            raise LaunchError(
                "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
                f"failed: unable to retrieve secret from asm: service call has been retried 1 time(s): "
                f"AccessDeniedException: {e}"
            ) from None
        try:
            value = backend.get_secret_value(arn, None, None)
        except (JsonRESTError, KeyError, Exception) as e:
            raise LaunchError(
                f"ResourceInitializationError: unable to pull secrets: {reference}: {type(e).__name__}"
            ) from None
        return str(value.get("SecretString") or "") if isinstance(value, dict) else str(value)
