"""Where moto's Service Quotas stops short of AWS's."""

from __future__ import annotations


def patch(fargate_vcpu_quota: float) -> None:
    """Service Quotas: moto holds the VPC's quotas only; the account's Fargate On-Demand vCPU quota (the preflight
    reads it) is the sandbox's setting (SANDBOX_FARGATE_VCPU_QUOTA), with AWS's quota code, name and ARN."""
    from moto.servicequotas.models import ServiceQuotasBackend

    original_quota = ServiceQuotasBackend.get_service_quota

    def get_service_quota(self, service_code: str, quota_code: str) -> dict:
        if (service_code, quota_code) == ("fargate", "L-3032A538"):
            return {
                "ServiceCode": "fargate",
                "ServiceName": "AWS Fargate",
                "QuotaArn": f"arn:aws:servicequotas:{self.region_name}:{self.account_id}:fargate/L-3032A538",
                "QuotaCode": "L-3032A538",
                "QuotaName": "Fargate On-Demand vCPU resource count",
                "Value": fargate_vcpu_quota,
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        return original_quota(self, service_code, quota_code)

    ServiceQuotasBackend.get_service_quota = get_service_quota
