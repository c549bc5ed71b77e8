"""The ECS service: it exists, the deployment's controller controls it, it is steady, and the original task set's
targets are healthy (a deployment starts from them)."""

from __future__ import annotations

from .core import Checks, Finding, failed, not_checked, ok


class EcsServiceChecks(Checks):
    def _ecs_native(self, service: dict) -> list[Finding]:
        """The ECS controller's service: deploymentController ECS with a blue/green strategy, steady."""
        cluster, name = self.names["cluster"], self.names["ecs_service"]
        subject = f"{cluster}/{name}"
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        strategy = (service.get("deploymentConfiguration") or {}).get("strategy") or "ROLLING"
        if controller != "ECS" or strategy not in ("BLUE_GREEN", "LINEAR", "CANARY"):
            return [
                failed(
                    "ecs",
                    subject,
                    f"the service's deployment controller is {controller} with strategy {strategy}: the ECS controller "
                    "needs ECS with BLUE_GREEN, LINEAR or CANARY",
                    "a CODE_DEPLOY service moves by the procedure of docs/controllers.md; else reprovision it",
                )
            ]
        self.facts.task_definition = self.client("ecs").describe_task_definition(
            taskDefinition=service["taskDefinition"]
        )["taskDefinition"]
        running, desired = service.get("runningCount", 0), service.get("desiredCount", 0)
        if running < desired or desired == 0:
            return [
                failed(
                    "ecs",
                    subject,
                    f"the service is not steady ({running} of {desired} tasks running)",
                    "find why its tasks stop: aws ecs describe-tasks / the service's events; deploy when it is steady",
                )
            ]
        return [ok("ecs", subject, f"ECS-controlled ({strategy}), steady with {running} tasks")]

    def ecs(self) -> list[Finding]:
        cluster, name = self.names["cluster"], self.names["ecs_service"]
        services = self.client("ecs").describe_services(cluster=cluster, services=[name]).get("services", [])
        service = next((s for s in services if s.get("status") == "ACTIVE"), None)
        provision = f"run playbooks/provision.yml -i inventories/{self.names['env']}"
        if service is None:
            return [failed("ecs", f"{cluster}/{name}", "the service does not exist", provision)]
        self.facts.service = service
        if self.controller == "ecs":
            return self._ecs_native(service)
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        if controller != "CODE_DEPLOY":
            return [
                failed(
                    "ecs",
                    f"{cluster}/{name}",
                    f"the service's deployment controller is {controller}, not CODE_DEPLOY: CodeDeploy cannot "
                    "deploy it (a controller is set when a service is created)",
                    "recreate the service with provision.yml (teardown.yml first), or deploy it with its controller",
                )
            ]
        findings = []
        primary = [t for t in service.get("taskSets", []) if t.get("status") == "PRIMARY"]
        if not primary:
            findings.append(failed("ecs", f"{cluster}/{name}", "the service has no PRIMARY task set", provision))
            return findings
        task_set = primary[0]
        self.facts.task_definition = self.client("ecs").describe_task_definition(
            taskDefinition=task_set["taskDefinition"]
        )["taskDefinition"]
        steady = task_set.get("stabilityStatus") == "STEADY_STATE"
        running, desired = task_set.get("runningCount", 0), task_set.get("computedDesiredCount", 0)
        if not steady or running < desired or desired == 0:
            findings.append(
                failed(
                    "ecs",
                    f"{cluster}/{name}",
                    f"the original task set {task_set['id']} is not steady ({task_set.get('stabilityStatus')}, "
                    f"{running} of {desired} tasks running)",
                    "find why its tasks stop: aws ecs describe-tasks / the service's events; deploy when it is "
                    "steady (a deployment starts from a stable original task set)",
                )
            )
        else:
            findings.append(
                ok(
                    "ecs",
                    f"{cluster}/{name}",
                    f"CODE_DEPLOY-controlled, task set {task_set['id']} steady with {running} tasks",
                )
            )
        for balancer in task_set.get("loadBalancers", [])[:1]:
            findings += self._targets_healthy(balancer["targetGroupArn"])
        return findings

    def _targets_healthy(self, target_group_arn: str) -> list[Finding]:
        health = self.client("elbv2").describe_target_health(TargetGroupArn=target_group_arn)
        states = [d["TargetHealth"]["State"] for d in health.get("TargetHealthDescriptions", [])]
        group = target_group_arn.split("/")[-2]
        if states and all(s == "healthy" for s in states):
            return [ok("ecs", f"target group {group}", f"the original task set's {len(states)} targets are healthy")]
        if "healthy" in states and not {"unhealthy", "unavailable"} & set(states):
            # Some still "initial" (registration in progress, or health checks just changed) or "draining": not a
            # fault, and not yet known healthy.
            return [
                not_checked(
                    "ecs",
                    f"target group {group}",
                    f"the original task set's targets are {sorted(states)}: some are not known healthy yet",
                )
            ]
        return [
            failed(
                "ecs",
                f"target group {group}",
                f"the original task set's targets are {states or 'none'}: production is not healthy now",
                "fix production first (playbooks/status.yml shows it); a deployment would start from it",
            )
        ]
