"""Where moto's ECS stops short of AWS's (each patch is what AWS does, as documented): tasks the ECS agent runs
(sandbox/ecs/agent.py), task sets, a CODE_DEPLOY service's first task set, a deleted service's lifecycle, the
changes UpdateService refuses, a service named by the ARN of another cluster. ECS-native deployments:
sandbox/ecs/deployment_patches.py."""

from __future__ import annotations

from sandbox.iam.requests import service_arn_cluster


def patch(plane) -> None:
    """The order matters: each CreateService and UpdateService patch wraps the ones before it (and
    sandbox/ecs/deployment_patches.py wraps these)."""
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.moto_api import state_manager

    # Tasks keep the status the agent gives them (moto would otherwise advance it on every read).
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})

    # The agent starts a task set's tasks (moto would record tasks for it that never run).
    original_create_task_set = EC2ContainerServiceBackend.create_task_set

    def create_task_set(self, *args, **kwargs):
        scale, kwargs["scale"] = kwargs.get("scale"), None
        task_set = original_create_task_set(self, *args, **kwargs)
        task_set.scale = scale or {"value": 100.0, "unit": "PERCENT"}
        return task_set

    EC2ContainerServiceBackend.create_task_set = create_task_set

    # UpdateServicePrimaryTaskSet takes a task set's ARN or its id; given an id, moto made every task set
    # ACTIVE (it compares the id with each ARN), leaving the service without a primary one.
    original_update_primary = EC2ContainerServiceBackend.update_service_primary_task_set

    def update_service_primary_task_set(self, cluster, service, primary_task_set):
        task_set = self.describe_task_sets(cluster.split("/")[-1], service.split("/")[-1], [primary_task_set])[0]
        return original_update_primary(self, cluster, service, task_set.task_set_arn)

    EC2ContainerServiceBackend.update_service_primary_task_set = update_service_primary_task_set

    # A CODE_DEPLOY service starts with a primary task set running its task definition (moto leaves
    # taskSets empty), attached to the service's target group.
    original_create_service = EC2ContainerServiceBackend.create_service

    def create_service(self, cluster_str, service_name, desired_count, *args, **kwargs):
        service = original_create_service(self, cluster_str, service_name, desired_count, *args, **kwargs)
        if (service.deployment_controller or {}).get("type") == "CODE_DEPLOY" and service.task_definition:
            task_set = self.create_task_set(
                service=service.arn,
                cluster_str=cluster_str,
                task_definition=service.task_definition,
                external_id=None,
                network_configuration=kwargs.get("network_configuration"),
                load_balancers=service.load_balancers,
                service_registries=None,
                launch_type=service.launch_type,
                capacity_provider_strategy=kwargs.get("capacity_provider_strategy"),
                platform_version=service.platform_version,
                scale={"value": 100.0, "unit": "PERCENT"},
                client_token=None,
                tags=[],
            )
            self.update_service_primary_task_set(cluster_str, service.arn, task_set.task_set_arn)
        return service

    EC2ContainerServiceBackend.create_service = create_service
    refuse_code_deploy_service_updates()
    drain_deleted_services(plane)
    refuse_service_arns_of_other_clusters()


def drain_deleted_services(plane) -> None:
    """A service's name and lifecycle as the ECS API reference gives them; moto deleted at once and let a new
    service replace an existing one of the same name."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend

    original_create_service = EC2ContainerServiceBackend.create_service

    def create_service(self, cluster_str, service_name, *args, **kwargs):
        # "If you attempt to create a new service with the same name as an existing service in either ACTIVE or
        # DRAINING status, you receive an error" (DeleteService); moto replaced the existing one. The messages are
        # ECS's as widely reported (assumed: the reference quotes none); an identical request is refused too
        # (assumed: the stricter reading of idempotence).
        cluster = self._get_cluster(cluster_str)
        existing = self.services.get(f"{cluster.name}:{service_name}")
        if existing is not None and existing.status == "DRAINING":
            raise InvalidParameterException("Unable to Start a service that is still Draining.")
        if existing is not None and existing.status == "ACTIVE":
            raise InvalidParameterException("Creation of service was not idempotent.")
        return original_create_service(self, cluster_str, service_name, *args, **kwargs)

    EC2ContainerServiceBackend.create_service = create_service

    # DeleteService: "if there are still running tasks that require cleanup, the service status moves from ACTIVE
    # to DRAINING, and the service is no longer visible in ... ListServices. After all tasks have transitioned to
    # either STOPPING or STOPPED status, the service status moves from DRAINING to INACTIVE." moto made it
    # INACTIVE at once; the agent stops its tasks and makes it INACTIVE (sandbox/ecs/agent.py report).
    original_delete_service = EC2ContainerServiceBackend.delete_service

    def delete_service(self, cluster_name, service_name, force):
        existing = self._get_service(cluster_name, service_name)
        if existing.status != "ACTIVE":
            return existing  # deleted already: as it is (assumed; the reference names no error for it)
        service = original_delete_service(self, cluster_name, service_name, force)
        service.status = "DRAINING"
        plane.native.service_deleted(service)
        return service

    EC2ContainerServiceBackend.delete_service = delete_service

    original_list_services = EC2ContainerServiceBackend.list_services

    def list_services(self, cluster_str, *args, **kwargs):
        arns = original_list_services(self, cluster_str, *args, **kwargs)
        active = {s.arn for s in self.services.values() if s.status == "ACTIVE"}
        return [arn for arn in arns if arn in active]

    EC2ContainerServiceBackend.list_services = list_services


def refuse_code_deploy_service_updates() -> None:
    """UpdateService on a CODE_DEPLOY service (API reference): only the desired count, deployment configuration,
    health check grace period, placement constraints and strategy, managed tags and tag propagation may
    change; the task definition, network, platform version and load balancers change only through a
    CodeDeploy deployment. moto accepts them all. Parameters the reference is silent on pass (ledger:
    assumed), deploymentController among them: it is the documented way to ECS-native blue/green."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend

    original_update_service = EC2ContainerServiceBackend.update_service
    refused = {
        "task_definition": "task definition",
        "network_configuration": "network parameters",
        "platform_version": "platform version",
        "load_balancers": "load balancers",
    }

    def update_service(self, service_properties):
        service = self._get_service(
            service_properties.get("cluster", "default"), service_properties["service"].split("/")[-1]
        )
        if (service.deployment_controller or {}).get("type") == "CODE_DEPLOY":
            for key, what in refused.items():
                # Present at all, even empty: the request names it (what AWS does with "" is not documented).
                if key in service_properties:
                    raise InvalidParameterException(
                        f"Unable to update {what} on services with a CODE_DEPLOY deployment controller. "
                        "Use AWS CodeDeploy to trigger a new deployment."
                    )
        return original_update_service(self, service_properties)

    EC2ContainerServiceBackend.update_service = update_service


def refuse_service_arns_of_other_clusters() -> None:
    """DescribeServices and UpdateService look a service up in the request's cluster (`default` when it names none,
    API reference), whatever cluster a long service ARN names: ECS refuses an ARN of another cluster,
    InvalidParameterException "Invalid identifier: Identifier is for cluster <the ARN's>. Your cluster is <the
    request's>" (reported for DescribeServices and DescribeTasks; UpdateService **assumed** alike). moto looked the
    ARN's last part up as a name in the request's cluster instead: ClusterNotFoundException without a `default`
    cluster, or a same-named service of another cluster. ListServiceDeployments does take the ARN's cluster
    (answer_service_deployments). Ledger: "A service named by its ARN alone"."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.responses import EC2ContainerServiceResponse

    def checked(original, identifiers):
        def answer(self):
            cluster = str(self._get_param("cluster") or "default").rsplit("/", 1)[-1]
            for identifier in identifiers(self):
                named = service_arn_cluster(identifier)
                if named is not None and named != cluster:
                    raise InvalidParameterException(
                        f"Invalid identifier: Identifier is for cluster {named}. Your cluster is {cluster}"
                    )
            return original(self)

        return answer

    EC2ContainerServiceResponse.describe_services = checked(
        EC2ContainerServiceResponse.describe_services, lambda r: r._get_param("services") or []
    )
    EC2ContainerServiceResponse.update_service = checked(
        EC2ContainerServiceResponse.update_service, lambda r: [r._get_param("service")]
    )
