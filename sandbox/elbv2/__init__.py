"""Elastic Load Balancing: HAProxy as the Application Load Balancer (`haproxy`), reconciled from the ELBv2 state with
its targets' health (`balancers`), its CloudWatch metrics (`metrics`), and the patches of moto's ELBv2 (`patches`)."""
