"""ECS-native blue/green on moto's ECS API: CreateService and UpdateService keep a service's deploymentConfiguration
and start its deployments, DescribeServices shows them, and the service deployment operations moto lacks answer from
the sandbox's engine (sandbox/ecs/deployments.py)."""

from __future__ import annotations

import json
from typing import Any

from sandbox.ecs.deployments import Native
from sandbox.iam.requests import service_arn_cluster


def patch(native: Native) -> None:
    """ECS-native blue/green (sandbox/ecs/deployments.py): moto drops a service's deploymentConfiguration and has no
    service deployments or revisions; the sandbox keeps them, runs the deployments, and answers ListServiceDeployments,
    DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment and ContinueServiceDeployment."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    original_create = EC2ContainerServiceResponse.create_service

    def create_service(self):
        configuration = self._get_param("deploymentConfiguration")
        result = original_create(self)
        service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
        vars(service)["deployment_configuration"] = configuration  # DescribeServices shows it
        native.service_created(service, configuration)
        return result

    EC2ContainerServiceResponse.create_service = create_service

    original_update = EC2ContainerServiceBackend.update_service

    def update_service(self, service_properties):
        service = self._get_service(
            service_properties.get("cluster", "default"), service_properties["service"].split("/")[-1]
        )
        wanted = (service_properties.get("deployment_controller") or {}).get("type")
        current = (service.deployment_controller or {}).get("type") or "ECS"
        if wanted and wanted != current:
            return migrate_controller(self, service, service_properties, wanted, current)
        new_definition = service_properties.get("task_definition")
        configuration = service_properties.get("deployment_configuration") or native.configs.get(service.arn)
        if (
            current == "ECS"
            and not native.is_blue_green(configuration)
            and (
                service_properties.get("force_new_deployment")
                or (new_definition and new_definition.split("/")[-1] != (service.task_definition or "").split("/")[-1])
            )
        ):
            # Refused rather than answered without a deployment (never kinder than AWS: nothing would run).
            raise InvalidParameterException(
                "Sandbox: rolling updates (deployment strategy ROLLING) are not modelled; a rolling service runs "
                "its first revision only. Use a BLUE_GREEN, LINEAR or CANARY strategy, or a new service."
            )
        previous = service.task_definition
        updated = original_update(self, service_properties)
        if "deployment_configuration" in service_properties:
            vars(updated)["deployment_configuration"] = service_properties["deployment_configuration"]
        native.service_updated(updated, service_properties, previous)
        return updated

    def migrate_controller(backend, service, properties: dict, wanted: str, current: str):
        """UpdateService with another deploymentController: from CODE_DEPLOY to ECS with a blue/green strategy, as
        the ECS developer guide's migration documents it, and nothing else (**assumed**: the reference does not
        say which changes UpdateService refuses). The service must have no deployment in progress (one task set,
        PRIMARY: a CodeDeploy deployment in progress has two, **assumed** refused as the guide's prerequisite
        says); the task definition and network stay the task set's (a request naming others is refused, so the
        move changes only who deploys). The task set's tasks become the first service revision's
        (sandbox/ecs/deployments.py)."""
        if (current, wanted) != ("CODE_DEPLOY", "ECS"):
            raise InvalidParameterException(
                f"Unable to update the deployment controller from {current} to {wanted}: the sandbox models the move "
                "from CODE_DEPLOY to ECS only (ECS developer guide, migrating from CodeDeploy blue/green)."
            )
        configuration = properties.get("deployment_configuration") or {}
        if not native.is_blue_green(configuration):
            raise InvalidParameterException(
                "The deploymentConfiguration of a service moving from CODE_DEPLOY to ECS needs a BLUE_GREEN, LINEAR "
                "or CANARY strategy."
            )
        task_sets = [t for t in service.task_sets if t.status in ("PRIMARY", "ACTIVE")]
        if len(task_sets) != 1 or task_sets[0].status != "PRIMARY":
            raise InvalidParameterException(
                f"Unable to update the deployment controller while a deployment is in progress ({len(task_sets)} "
                "task sets). Wait for the CodeDeploy deployment to end."
            )
        for key in ("task_definition", "network_configuration", "platform_version"):
            if key in properties:
                raise InvalidParameterException(
                    f"Unable to update {key.replace('_', ' ')} while changing the deployment controller."
                )
        service.deployment_controller = {"type": "ECS"}
        updated = original_update(backend, properties)
        vars(updated)["deployment_configuration"] = configuration
        native.service_migrated(updated, task_sets[0])
        return updated

    EC2ContainerServiceBackend.update_service = update_service
    show_deployments_as_described(native)
    answer_service_deployments(native)


def show_deployments_as_described(native: Native) -> None:
    """DescribeServices shows each ECS-controlled service's deployments as of the request (Native.show; the agent
    refreshes them each tick as well)."""
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.describe_services

    def describe_services(self, cluster_str, service_names_or_arns):
        found, failures = original(self, cluster_str, service_names_or_arns)
        for service in found:
            native.show(service)
        return found, failures

    EC2ContainerServiceBackend.describe_services = describe_services


def _service_deployments_page(briefs: list[dict], size: int, token: str | None) -> dict[str, Any]:
    """One page of ListServiceDeployments, in the order Native.list_deployments gives (oldest first, **assumed**).
    The nextToken is opaque and names the position after the page's last deployment (its createdAt and ARN), so
    pages neither repeat nor skip one when deployments are created or change status in between. A token that is
    not one of these: ValueError."""
    import base64
    import binascii

    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))
            after = (float(after[0]), str(after[1]))
        except (binascii.Error, ValueError, TypeError, IndexError, KeyError) as e:
            raise ValueError(f"not a nextToken: {token}") from e
        briefs = [b for b in briefs if (b["createdAt"].timestamp(), b["serviceDeploymentArn"]) > after]
    page: dict[str, Any] = {"serviceDeployments": briefs[:size]}
    if len(briefs) > size:
        last = briefs[size - 1]
        position = [last["createdAt"].timestamp(), last["serviceDeploymentArn"]]
        page["nextToken"] = base64.urlsafe_b64encode(json.dumps(position).encode()).decode()
    return page


def answer_service_deployments(native: Native) -> None:
    """The service deployment operations moto lacks, answered from the sandbox's ECS-native engine with the API
    reference's limits: at most 20 ARNs a Describe call, pages of maxResults (1-100, 20 by default)."""
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException, ServiceNotFoundException
    from moto.ecs.responses import EC2ContainerServiceResponse

    def service_of(backend, cluster: str, service: str):
        try:
            return backend._get_service(cluster or "default", service.rsplit("/", maxsplit=1)[-1])
        except ServiceNotFoundException:
            raise
        except Exception:
            raise ServiceNotFoundException() from None

    def list_service_deployments(self):
        # With no cluster, a long service ARN's own cluster (AWS's sample hooks call it so; ledger: "A service named
        # by its ARN alone"), not `default` as the reference says of a request that names none.
        named = self._get_param("service")
        cluster = self._get_param("cluster") or service_arn_cluster(named) or "default"
        service = service_of(self.ecs_backend, cluster, named)
        size = self._get_param("maxResults")
        size = 20 if size is None else int(size)
        if not 1 <= size <= 100:
            raise InvalidParameterException("maxResults must be between 1 and 100.")
        briefs = native.list_deployments(service.arn, self._get_param("status"), self._get_param("createdAt"))
        try:
            return ActionResult(_service_deployments_page(briefs, size, self._get_param("nextToken")))
        except ValueError:
            raise InvalidParameterException("The nextToken is not valid.") from None

    def describe_service_deployments(self):
        arns = self._get_param("serviceDeploymentArns") or []
        if len(arns) > 20:
            raise InvalidParameterException("You can specify a maximum of 20 ARNs.")
        found, failures = native.describe_deployments(arns)
        return ActionResult({"serviceDeployments": found, "failures": failures})

    def describe_service_revisions(self):
        arns = self._get_param("serviceRevisionArns") or []
        if len(arns) > 20:
            raise InvalidParameterException("You can specify a maximum of 20 ARNs.")
        found, failures = native.describe_revisions(arns)
        return ActionResult({"serviceRevisions": found, "failures": failures})

    def stop_service_deployment(self):
        arn = self._get_param("serviceDeploymentArn")
        stop_type = self._get_param("stopType") or "ROLLBACK"
        if stop_type != "ROLLBACK":
            # botocore's model lists ABORT; the API reference: "The valid values are ROLLBACK."
            raise InvalidParameterException(f"stopType {stop_type} is not valid: the valid values are ROLLBACK.")
        try:
            native.request_stop(arn, stop_type)
        except LookupError:
            raise ServiceDeploymentNotFound(arn) from None
        return ActionResult({"serviceDeploymentArn": arn})

    def continue_service_deployment(self):
        arn = self._get_param("serviceDeploymentArn")
        try:
            native.request_continue(arn, self._get_param("hookId"), self._get_param("action") or "CONTINUE")
        except LookupError:
            raise ServiceDeploymentNotFound(arn) from None
        return ActionResult({"serviceDeploymentArn": arn})

    for function in (
        list_service_deployments,
        describe_service_deployments,
        describe_service_revisions,
        stop_service_deployment,
        continue_service_deployment,
    ):
        setattr(EC2ContainerServiceResponse, function.__name__, function)


def ServiceDeploymentNotFound(arn: str):
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ServiceDeploymentNotFoundException", f"The service deployment {arn} was not found.")
