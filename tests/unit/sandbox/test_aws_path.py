"""What a subnet reaches of the AWS APIs (sandbox/ec2/network.py): a NAT route reaches every public endpoint; without
one, only the services of its VPC endpoints (interface endpoints with private DNS in its availability zone,
gateway endpoints on its route table). Read from moto's EC2 backend, as the sandbox reads it."""

from __future__ import annotations

import boto3
from moto import mock_aws
from moto.backends import get_backend

from sandbox.ec2.network import UNREACHABLE, AwsPath, aws_path, unreachable_environment

REGION = "eu-west-1"


@mock_aws
def test_a_subnet_reaches_aws_through_its_nat_route_or_its_endpoints():
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="eu-west-1a")["Subnet"]["SubnetId"]
    b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="eu-west-1b")["Subnet"]["SubnetId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.9.0/24", AvailabilityZone="eu-west-1a")["Subnet"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    for subnet in (a, b):
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    backend = get_backend("ec2")["123456789012"][REGION]

    assert aws_path(backend, a, REGION) == AwsPath(nat=False)
    # An interface endpoint in zone a (private DNS) and the S3 gateway endpoint on the route table.
    ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.ecr.dkr",
        VpcEndpointType="Interface",
        SubnetIds=[a],
        PrivateDnsEnabled=True,
    )
    ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway", RouteTableIds=[table]
    )
    assert aws_path(backend, a, REGION).endpoints == {"ecr.dkr", "s3"}
    assert aws_path(backend, b, REGION).endpoints == {"s3"}, "the interface endpoint is in another zone"
    environment = unreachable_environment(aws_path(backend, a, REGION), 4566)
    assert environment["AWS_ENDPOINT_URL_CODEDEPLOY"] == f"http://{UNREACHABLE}:4566"

    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public["SubnetId"], AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    path = aws_path(backend, b, REGION)
    assert path.nat
    assert path.reaches("codedeploy")
    assert unreachable_environment(path, 4566) == {}
