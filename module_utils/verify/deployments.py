"""What runs the deployments is there, and no deployment is active: CodeDeploy's application and deployment group
(the CodeDeploy controller), or the ECS service's own deployments (the ECS controller)."""

from __future__ import annotations

from ..ecs.deployments import service_deployment_briefs
from ..model.ecs import ACTIVE_STATUSES as ECS_ACTIVE_STATUSES
from .core import Checks, Finding, error_code, failed, ok

# CodeDeploy's statuses of a deployment that has not ended.
ACTIVE_STATUSES = ["Created", "Queued", "InProgress", "Baking", "Ready"]


class DeploymentChecks(Checks):
    def deployments(self) -> list[Finding]:
        """What runs the deployments is there, and none is active (the controller's own)."""
        return self.codedeploy() if self.controller == "codedeploy" else self.service_deployments()

    def service_deployments(self) -> list[Finding]:
        """The ECS controller: no service deployment in progress (a new one would stop it where it is)."""
        cluster, name = self.names["cluster"], self.names["ecs_service"]
        subject = f"{cluster}/{name}"
        try:
            # Every page, newest first: the one named is the one a deploy would meet.
            active = service_deployment_briefs(
                self.client("ecs").list_service_deployments,
                cluster=cluster,
                service=name,
                status=list(ECS_ACTIVE_STATUSES),
            )
        except Exception as e:
            if error_code(e) not in ("ServiceNotFoundException", "ClusterNotFoundException"):
                raise
            return []  # ecs() says the service is missing
        if not active:
            return [ok("ecs", subject, "no service deployment is active")]
        arn = active[0]["serviceDeploymentArn"]
        if self.p.get("active_deployment_allowed"):
            return [ok("ecs", subject, f"service deployment {arn} is active: deploy.yml follows or replaces it")]
        env = self.names["env"]
        return [
            failed(
                "ecs",
                subject,
                f"service deployment {arn} is still {active[0].get('status')}: a new one would stop it where it is",
                f"wait for it (playbooks/status.yml -i inventories/{env}), promote or roll it back "
                "(playbooks/promote.yml / rollback.yml), or deploy with -e replace_active=true",
            )
        ]

    def codedeploy(self) -> list[Finding]:
        codedeploy = self.client("codedeploy")
        application, group = self.names["codedeploy_application"], self.names["deployment_group"]
        subject = f"{application}/{group}"
        provision = f"run playbooks/provision.yml -i inventories/{self.names['env']}"
        try:
            info = codedeploy.get_deployment_group(applicationName=application, deploymentGroupName=group)
        except Exception as e:
            code = error_code(e)
            if code in ("ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException"):
                what = "application" if code.startswith("Application") else "deployment group"
                return [failed("codedeploy", subject, f"the CodeDeploy {what} does not exist", provision)]
            raise
        self.facts.group = info["deploymentGroupInfo"]
        group_info = self.facts.group
        findings = []
        wanted = [{"serviceName": self.names["ecs_service"], "clusterName": self.names["cluster"]}]
        style = group_info.get("deploymentStyle") or {}
        pairs = (group_info.get("loadBalancerInfo") or {}).get("targetGroupPairInfoList") or [{}]
        groups = sorted(g.get("name", "") for g in pairs[0].get("targetGroups") or [])
        problems = []
        if group_info.get("computePlatform") != "ECS":
            problems.append(f"compute platform {group_info.get('computePlatform')} (not ECS)")
        if group_info.get("ecsServices") != wanted:
            problems.append(f"it deploys {group_info.get('ecsServices')}, not {wanted}")
        if style != {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}:
            problems.append(f"deployment style {style}")
        if groups != sorted(self.names["target_groups"]):
            problems.append(f"target groups {groups}, not {sorted(self.names['target_groups'])}")
        if problems:
            findings.append(
                failed("codedeploy", subject, "the deployment group differs: " + "; ".join(problems), provision)
            )
        else:
            findings.append(
                ok(
                    "codedeploy",
                    subject,
                    f"deployment group of {self.names['ecs_service']}, config {group_info.get('deploymentConfigName')}",
                )
            )
        active = codedeploy.list_deployments(
            applicationName=application, deploymentGroupName=group, includeOnlyStatuses=ACTIVE_STATUSES
        ).get("deployments", [])
        if active and not self.p.get("active_deployment_allowed"):
            env = self.names["env"]
            findings.append(
                failed(
                    "codedeploy",
                    subject,
                    f"deployment {active[0]} is still active: a new deployment would be refused "
                    "(DeploymentLimitExceededException)",
                    f"wait for it (playbooks/status.yml -i inventories/{env}), promote or roll it back "
                    f"(playbooks/promote.yml / rollback.yml), or deploy with -e replace_active=true",
                )
            )
        elif active:
            findings.append(
                ok(
                    "codedeploy",
                    subject,
                    f"deployment {active[0]} is active: deploy.yml follows or replaces it (replace_active)",
                )
            )
        else:
            findings.append(ok("codedeploy", subject, "no deployment is active"))
        return findings
