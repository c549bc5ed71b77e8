"""Where moto's Elastic Load Balancing stops short of AWS's (each patch is what AWS does, as documented)."""

from __future__ import annotations

import time


def patch(plane) -> None:
    """A load balancer's DNS name and its targets' health come from the data plane (sandbox/elbv2/balancers.py)."""
    from moto.elbv2.models import ELBv2Backend, FakeTargetGroup

    # A load balancer's DNS name resolves to where it listens: here, its own loopback address.
    original_create_lb = ELBv2Backend.create_load_balancer

    def create_load_balancer(self, *args, **kwargs):
        balancer = original_create_lb(self, *args, **kwargs)
        balancer.dns_name = plane.balancers.allocate_address()
        return balancer

    ELBv2Backend.create_load_balancer = create_load_balancer

    # Targets remember when they were registered (a new target is "initial" until its checks pass).
    original_register = FakeTargetGroup.register

    def register(self, targets):
        original_register(self, targets)
        for target in targets:
            self.targets[target["Id"]].setdefault("_registered_at", time.time())

    FakeTargetGroup.register = register

    def health_for(self, target, ec2_backend):
        return plane.balancers.target_health(self, target)

    FakeTargetGroup.health_for = health_for
