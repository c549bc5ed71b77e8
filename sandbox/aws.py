"""The sandbox's AWS: moto's server for the control plane, plus the data plane moto does not have.

One process (`python -m sandbox.aws`, started by `sandbox up`):
- moto in server mode on the AWS endpoint: IAM, EC2, ECS, ELBv2, CloudWatch, Logs, STS, Lambda, ...; every request
  authorized by IAM's policies first (sandbox/iam/enforcement.py);
- where moto stops short of AWS, each service's documented patches, beside the service they patch
  (sandbox/<service>/patches.py; `patch_moto` applies them): a CODE_DEPLOY service gets its initial task set, a load
  balancer's DNSName is its own loopback address, Lambda Invoke runs the function's code, DescribeTargetHealth
  reports real health, ...;
- the data plane (sandbox/dataplane.py): the ECS agent's tasks as local processes, HAProxy as the ALB reconciled from
  the ELBv2 state several times a second, Lambda runs, CloudWatch's alarms.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
# A requested ACM certificate is PENDING_VALIDATION until its DNS validation passes (minutes on AWS); here
# after 3 seconds (ledger: assumed).
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "3")

# moto reads its settings at import: the variables above must come first.
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from sandbox import config as sandbox_config
from sandbox.api_calls import ApiCalls
from sandbox.awslambda import patches as lambda_patches
from sandbox.cloudwatch import patches as cloudwatch_patches
from sandbox.dataplane import DataPlane
from sandbox.ec2 import patches as ec2_patches
from sandbox.ecs import deployment_patches as ecs_deployment_patches
from sandbox.ecs import patches as ecs_patches
from sandbox.elbv2 import patches as elbv2_patches
from sandbox.iam import enforcement
from sandbox.iam import patches as iam_patches
from sandbox.servicequotas import patches as servicequotas_patches

log = logging.getLogger("sandbox.aws")


def patch_moto(plane: DataPlane) -> None:
    """Where moto stops short of AWS, service by service. Each patch is what AWS does, as documented; where two
    patches wrap the same method (ECS's CreateService and UpdateService, Lambda's CreateFunction), the later wraps
    the earlier, in the order of each service's `patch`."""
    elbv2_patches.patch(plane)
    ec2_patches.patch(plane.region)
    ecs_patches.patch(plane)
    ecs_deployment_patches.patch(plane.native)
    lambda_patches.patch(plane)
    servicequotas_patches.patch(plane.cfg.fargate_vcpu_quota)
    iam_patches.patch_simulate_principal_policy()
    cloudwatch_patches.patch_cloudwatch(plane.alarms, plane.series)


class MotoServer:
    """moto's server (as its ThreadedMotoServer runs it), counting the API calls it answers."""

    def __init__(self, host: str, port: int, calls: ApiCalls, endpoints: enforcement.Endpoints):
        app = endpoints.wsgi(calls.wsgi(DomainDispatcherApplication(create_backend_app)))
        self.server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


def main() -> None:
    cfg = sandbox_config.load()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stdout, force=True
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    plane = DataPlane(cfg)
    patch_moto(plane)
    plane.authority.create_operator(cfg.users)
    enforcement.enforce(plane.authority, plane.backend)
    plane.endpoints = enforcement.Endpoints(plane.authority, cfg.internal_token, plane.backend, cfg.region)
    server = MotoServer(cfg.host, cfg.aws_port, ApiCalls(), plane.endpoints)
    server.start()
    log.info("AWS (moto %s) listening on %s", __import__("moto").__version__, cfg.aws_endpoint)

    def shutdown(signum, frame):
        log.info("stopping (signal %s)", signum)
        plane.stop()
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    plane.loop()


if __name__ == "__main__":
    main()
