"""The tasks a deployment doubles fit the account's Fargate vCPU quota."""

from __future__ import annotations

from .core import Checks, Finding, error_code, failed, not_checked, ok

# Fargate On-Demand vCPU resource count (Service Quotas, service code "fargate").
FARGATE_VCPU_QUOTA = ("fargate", "L-3032A538")


class QuotaChecks(Checks):
    def quotas(self) -> list[Finding]:
        """The tasks a deployment doubles fit the account's Fargate vCPU quota (the serving task definition's CPU
        and the service's desired count: both task sets run until the original one is terminated)."""
        definition, service = self.facts.task_definition or {}, self.facts.service or {}
        if not definition.get("cpu") or not service.get("desiredCount"):
            return []
        needed = 2 * int(definition["cpu"]) / 1024 * int(service["desiredCount"])
        code, quota_code = FARGATE_VCPU_QUOTA
        try:
            quota = self.client("service-quotas").get_service_quota(ServiceCode=code, QuotaCode=quota_code)["Quota"]
        except Exception as e:
            return [not_checked("quotas", "Fargate vCPU", f"Service Quotas did not answer ({error_code(e) or e})")]
        value = float(quota.get("Value", 0))
        subject = f"Fargate vCPU ({quota.get('QuotaName', quota_code)})"
        if needed > value:
            return [
                failed(
                    "quotas",
                    subject,
                    f"a deployment runs both task sets: {needed:g} vCPU, above the account's quota of {value:g}",
                    "request a quota increase (Service Quotas), or lower the desired count or the task's CPU",
                )
            ]
        return [
            ok(
                "quotas",
                subject,
                f"{needed:g} vCPU during a deployment, quota {value:g} (the account's other tasks share it: its "
                "usage is in CloudWatch, AWS/Usage)",
            )
        ]
