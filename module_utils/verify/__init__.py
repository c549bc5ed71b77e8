"""Preflight: whether a blue/green deployment of one service can succeed in its environment, read before anything
changes. Each check reads AWS and returns findings: `ok`, `failed` (what is wrong, and the fix) or `not checked`
(what this check could not read or AWS cannot simulate, said plainly, never counted as a pass).

Used by library/bluegreen_verify.py (playbooks/verify.yml, which deploy.yml runs first). The checks take boto3
clients, so the tests run them against the sandbox as the module does. A file per kind of check, each a class that
runner.Verify composes:

    deployments.py    CodeDeploy's deployment group, or the ECS service's deployments: there, none active
    inputs.py         the deployment config (traffic plan) given
    ecs_service.py    the service, its controller, the original task set and its targets' health
    hooks.py          the lifecycle hook functions
    log_groups.py     the tasks' and the hooks' log groups
    alarms.py         the alarms the deployment stops on
    image.py          the image in ECR
    secrets.py        the secrets and SSM parameters the task definition references
    network.py        the tasks' and hooks' way to the AWS APIs (NAT gateway, VPC endpoints)
    load_balancer.py  the load balancer and its production and test listeners
    reachability.py   the hooks' way to those listeners
    tls.py            the production listener's certificate
    permissions.py    each role's and the caller's permissions, simulated (simulation.py batches the requests)
    quotas.py         the Fargate vCPU quota
    core.py           Finding, the statuses, the facts the checks share, the summary
    runner.py         Verify: every check, concurrently

Why hand-written: ecspresso's `verify` is a Go CLI for its own config format, and no Python library checks an ECS
blue/green environment; the API calls go through boto3's paginators and the amazon.aws module's retries.
"""

from __future__ import annotations

from .core import FAILED, NOT_CHECKED, OK, Finding, summary
from .runner import Verify

__all__ = ["FAILED", "NOT_CHECKED", "OK", "Finding", "Verify", "summary"]
