"""IAM as AWS enforces it: policy evaluation (`policy`), who calls and what each principal may do (`authority`), the
Service Authorization Reference (`reference`), each request's resources and context (`requests`) and what it needs
authorized (`authorizations`), the declared table held against the reference (`table`), enforcement on every request
moto answers (`enforcement`), and SimulatePrincipalPolicy (`patches`)."""
