"""EC2 as the sandbox's network: which connections a security group admits, what a subnet reaches of AWS (`network`),
and the patches of moto's EC2 (`patches`)."""
