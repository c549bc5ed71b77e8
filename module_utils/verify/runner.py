"""The preflight of one service: every kind of check (a class per file of this package), run concurrently."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from .alarms import AlarmChecks
from .core import Finding, not_checked, refused
from .deployments import DeploymentChecks
from .ecs_service import EcsServiceChecks
from .hooks import HookChecks
from .image import ImageChecks
from .inputs import InputChecks
from .load_balancer import LoadBalancerChecks
from .log_groups import LogGroupChecks
from .network import NetworkChecks
from .permissions import PermissionChecks
from .quotas import QuotaChecks
from .reachability import ReachabilityChecks
from .secrets import SecretChecks
from .tls import TlsChecks


# A class that builds on another's reads (the image name, the listeners) comes before it, as Python's method order
# requires.
class Verify(
    DeploymentChecks,
    EcsServiceChecks,
    HookChecks,
    InputChecks,
    SecretChecks,
    NetworkChecks,
    ReachabilityChecks,
    TlsChecks,
    PermissionChecks,
    LogGroupChecks,
    AlarmChecks,
    QuotaChecks,
    ImageChecks,
    LoadBalancerChecks,
):
    """All checks of one service. `clients(name)` gives a boto3 client; `params` the module's options."""

    def run(self) -> list[Finding]:
        """Reads that others need first, then every check, concurrently (each check reads only)."""
        findings: list[Finding] = []
        with ThreadPoolExecutor(max_workers=8) as pool:
            first = [
                pool.submit(self.guarded, f)
                for f in (self.caller, self.deployments, self.ecs, self.hooks, self.load_balancer)
            ]
            for future in first:
                findings += future.result()
            rest = [self.network, self.secrets, self.inputs, self.image, self.log_groups, self.tls, self.iam_caller]
            rest += [self.quotas, self.alarms]
            futures = [pool.submit(self.guarded, f) for f in rest]
            findings += futures[0].result() + futures[1].result()
            # The hooks' requests to the listeners leave through the NAT gateways network() found; the roles'
            # statements name the secrets by the full ARNs secrets() found.
            futures += [pool.submit(self.guarded, self.reachability), pool.submit(self.guarded, self.iam_roles)]
            for future in futures[2:]:
                findings += future.result()
        return findings

    def guarded(self, check) -> list[Finding]:
        """A check whose read AWS refuses is not checked, and says which call was refused; the other checks go
        on (every finding is reported, not only the first)."""
        try:
            return check()
        except Exception as e:
            if not refused(e):
                raise
            name = check.__name__.replace("_", " ")
            return [not_checked(name, "-", f"a read was refused: {e}")]

    # --- identity ---------------------------------------------------------------------------------------

    def caller(self) -> list[Finding]:
        identity = self.client("sts").get_caller_identity()
        self.facts.account = identity["Account"]
        self.facts.caller_arn = identity["Arn"]
        self.facts.partition = identity["Arn"].split(":")[1]
        return []
