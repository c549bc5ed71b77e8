"""Each role of the service, and the caller, allows what the model says it uses (module_utils/iam/),
on this deployment's resources: simulated with iam:SimulatePrincipalPolicy (simulation.py)."""

from __future__ import annotations

from ..iam import operator_policies, role_policies
from .core import Finding, error_code, failed, not_checked, ok
from .image import ImageChecks
from .simulation import denials


class PermissionChecks(ImageChecks):
    def iam_roles(self) -> list[Finding]:
        """Each role allows what the model says it does (module_utils/iam/, the statements the IAM
        issue proved necessary), on this deployment's resources: the secrets by the full ARNs found above."""
        secrets = self.p.get("secrets") or []
        roles = role_policies(
            self.names,
            partition=self.facts.partition,
            account=self.facts.account,
            region=self.region,
            path=self.p.get("iam_path") or "/",
            secret_arns=sorted(set(self.secret_arns.values())),
            ssm_parameter_arns=[r for r in secrets if ":ssm:" in r],
            kms_key_arns=self.p.get("kms_key_arns") or [],
            image_repository=self.image_name().rpartition(":")[0] or self.p.get("image_repository") or "",
            task_statements=self.p.get("task_statements") or [],
            controller=self.controller,
        )
        findings = []
        path = self.p.get("iam_path") or "/"
        for key in sorted(roles):
            role = roles[key]
            arn = f"arn:{self.facts.partition}:iam::{self.facts.account}:role{path}{role['name']}"
            fix = f"reprovision its policy: playbooks/provision.yml -i inventories/{self.names['env']}"
            findings += self._simulate(f"role {role['name']}", arn, role["statements"], fix)
        return findings

    def iam_caller(self) -> list[Finding]:
        """The caller (this run's credential) allows what its access does (docs/iam.md, "Operators")."""
        access = self.p.get("access") or ""
        if not access:
            return []
        policies = operator_policies(
            self.names,
            partition=self.facts.partition,
            account=self.facts.account,
            region=self.region,
            path=self.p.get("iam_path") or "/",
            controller=self.controller,
        )
        attached = {arn.rsplit("/", 1)[-1] for arn in policies["attach"].get(access, [])}
        statements = [s for p in policies["policies"].values() if p["name"] in attached for s in p["statements"]]
        suffix = f"-{access}"
        principal, subject = self.caller_principal()
        if principal is None:
            return [not_checked("iam", self.facts.caller_arn, "the caller is neither an IAM user nor a role session")]
        # A user's own ARN is in its policy as user/${aws:username}: the simulator is given the name. (A role
        # session's role may not be simulated by the deploy policy: the refusal is reported as not checked.)
        return self._simulate(
            f"caller {subject}",
            principal,
            statements,
            variables={"aws:username": subject} if ":user/" in principal else {},
            fix=f"attach the environment's {access} policy ({self.names['environment']}{suffix}): "
            "playbooks/operator_access.yml, as an administrator",
            missing=f"the caller's role is not {principal} (a role with a path): its policies were not simulated",
        )

    def caller_principal(self) -> tuple[str | None, str]:
        """The IAM principal of the caller: a user's ARN as it is; a role session's role
        (`arn:aws:sts::<account>:assumed-role/<role>/<session>` -> `arn:aws:iam::<account>:role/<role>`: STS
        does not say the role's path, so a role with one is reported as not simulated)."""
        arn = self.facts.caller_arn
        if ":user/" in arn:
            return arn, arn.rsplit("/", 1)[-1]
        if ":assumed-role/" in arn:
            role = arn.split(":assumed-role/", 1)[1].split("/")[0]
            return f"arn:{self.facts.partition}:iam::{self.facts.account}:role/{role}", f"role {role}"
        return None, arn

    def _simulate(
        self,
        subject: str,
        principal: str,
        statements: list[dict],
        fix: str,
        *,
        variables: dict | None = None,
        missing: str = "",
    ) -> list[Finding]:
        """Each statement's actions on its resources, simulated for the principal (simulation.py): a denial means the
        principal lacks what the model says it uses (a statement removed or changed, a policy detached)."""
        try:
            denied = denials(self.client("iam"), principal, statements, variables)
        except Exception as e:
            if error_code(e) == "NoSuchEntity":
                if missing:
                    return [not_checked("iam", subject, missing)]
                return [failed("iam", subject, "does not exist", fix)]
            if error_code(e) in ("AccessDenied", "AccessDeniedException"):
                return [not_checked("iam", subject, f"iam:SimulatePrincipalPolicy was refused: {e}")]
            raise
        if denied:
            return [
                failed(
                    "iam",
                    subject,
                    f"{len(denied)} needed permission(s) denied: "
                    + "; ".join(denied[:8])
                    + (" ..." if len(denied) > 8 else ""),
                    fix,
                )
            ]
        count = sum(len(s["Action"]) if isinstance(s["Action"], list) else 1 for s in statements)
        return [ok("iam", subject, f"allowed every action it uses ({count} in {len(statements)} statements)")]
