"""ECS: the agent that runs task sets' and services' tasks as local processes (`agent`, `containers`), ECS-native
blue/green deployments (`strategies`, `revisions`, `stages`, `deployments`), and the patches of moto's ECS
(`patches`, `deployment_patches`)."""
