"""The secrets and SSM parameters the task definition references exist (by the full ARN IAM matches), and what the
IAM simulator cannot say about reading them."""

from __future__ import annotations

from .core import Checks, Finding, error_code, failed, not_checked, ok


def secret_service(reference: str) -> str:
    """`ssm` for an SSM parameter's ARN; any other reference is a Secrets Manager secret (a name, a partial or full
    ARN), as library/secret_arns.py resolves it for the task definition."""
    return "ssm" if reference.startswith("arn:") and reference.split(":")[2:3] == ["ssm"] else "secretsmanager"


class SecretChecks(Checks):
    def secrets(self) -> list[Finding]:
        """Each secret and parameter the task definition references exists (a name or partial ARN is resolved to
        the full ARN, as IAM matches it); what IAM cannot simulate about reading it is said."""
        findings = []
        for reference in self.p.get("secrets") or []:
            if secret_service(reference) == "ssm":
                findings += self._parameter(reference)
                continue
            secret_id = ":".join(reference.split(":")[:7]) if reference.startswith("arn:") else reference
            try:
                try:
                    secret = self.client("secretsmanager").describe_secret(SecretId=secret_id)
                except Exception as e:
                    if error_code(e) != "ResourceNotFoundException" or ":" not in secret_id:
                        raise
                    # A partial ARN (without the random suffix) that Secrets Manager did not match: by its name.
                    secret = self.client("secretsmanager").describe_secret(SecretId=secret_id.split(":")[6])
            except Exception as e:
                if error_code(e) != "ResourceNotFoundException":
                    raise
                findings.append(
                    failed(
                        "secrets",
                        reference,
                        "no such secret: ECS cannot start the tasks (ResourceInitializationError: unable to pull "
                        "secrets)",
                        "create it (aws secretsmanager create-secret) or fix ecs_service_secrets in the inventory",
                    )
                )
                continue
            if secret.get("DeletedDate"):
                findings.append(
                    failed(
                        "secrets",
                        reference,
                        f"the secret is scheduled for deletion ({secret['DeletedDate']}): it cannot be read",
                        f"aws secretsmanager restore-secret --secret-id {secret['ARN']}",
                    )
                )
                continue
            self.secret_arns[reference] = secret["ARN"]
            findings.append(ok("secrets", reference, f"exists ({secret['ARN']})"))
            notes = []
            if secret.get("KmsKeyId") and not str(secret["KmsKeyId"]).startswith("alias/aws/"):
                notes.append(
                    f"it is encrypted with KMS key {secret['KmsKeyId']}, whose key policy must let the "
                    "task execution role kms:Decrypt"
                )
            try:
                policy = self.client("secretsmanager").get_resource_policy(SecretId=secret["ARN"]).get("ResourcePolicy")
            except Exception as e:
                policy = None
                notes.append(f"its resource policy could not be read ({error_code(e) or e})")
            if policy:
                notes.append("it has a resource policy (a Deny there would refuse the execution role)")
            if notes:
                findings.append(
                    not_checked(
                        "secrets",
                        reference,
                        "; ".join(notes) + ": the IAM simulator does not evaluate these for a role",
                    )
                )
        return findings

    def _parameter(self, reference: str) -> list[Finding]:
        name = reference.split(":parameter", 1)[-1] if reference.startswith("arn:") else reference
        found = (
            self.client("ssm")
            .describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])
            .get("Parameters", [])
        )
        if not found:
            return [
                failed(
                    "secrets",
                    reference,
                    "no such SSM parameter: ECS cannot start the tasks",
                    "create it (aws ssm put-parameter --type SecureString) or fix ecs_service_secrets",
                )
            ]
        return [ok("secrets", reference, "the parameter exists")]
