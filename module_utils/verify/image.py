"""The image this deployment runs exists in its registry (ECR; another registry is not looked up)."""

from __future__ import annotations

import re

from .core import Checks, Finding, error_code, failed, not_checked, ok

ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)$")


class ImageChecks(Checks):
    def image_name(self) -> str:
        """The image this deployment runs: the inventory's repository (else the serving task definition's) with
        the tag given; empty without a tag."""
        tag = self.p.get("image_tag") or ""
        repository = self.p.get("image_repository") or ""
        if not repository and self.facts.task_definition:
            serving = self.facts.task_definition["containerDefinitions"][0]["image"]
            repository = serving.split("@")[0].rpartition(":")[0] if ":" in serving.split("/")[-1] else serving
        return f"{repository}:{tag}" if tag and repository else ""

    def image(self) -> list[Finding]:
        image = self.image_name()
        if not image:
            return [not_checked("image", "-", "no image_tag given (-e image_tag=...): the image was not looked up")]
        repository, _, tag = image.rpartition(":")
        match = ECR_IMAGE.match(repository)
        if not match:
            return [
                not_checked(
                    "image",
                    image,
                    f"{repository.split('/')[0]} is not an ECR registry: the image's existence was not checked",
                )
            ]
        account, region, name = match.groups()
        ecr = self.client("ecr", region=region)
        try:
            ecr.describe_images(registryId=account, repositoryName=name, imageIds=[{"imageTag": tag}])
        except Exception as e:
            code = error_code(e)
            if code == "ImageNotFoundException":
                return [
                    failed(
                        "image",
                        image,
                        f"no image tagged {tag} in ECR repository {name}: the new tasks would stop with "
                        "CannotPullContainerError and the deployment roll back",
                        f"push it (docker push {image}) or give an existing tag: aws ecr describe-images "
                        f"--repository-name {name}",
                    )
                ]
            if code == "RepositoryNotFoundException":
                return [
                    failed(
                        "image",
                        image,
                        f"ECR repository {name} does not exist in {account}/{region}",
                        "fix ecs_service_image_repository in the inventory, or create the repository",
                    )
                ]
            raise
        return [ok("image", image, "the image exists in ECR")]
