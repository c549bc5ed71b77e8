"""What the scenarios of several environments do alike to look at one: what production serves, a playbook's output
read as a user reads it."""

from __future__ import annotations

import re


def served(box, requests: int = 10) -> dict:
    """The versions production served to so many requests ({version or HTTP status: requests})."""
    return dict(box.versions_served(requests))


def words(text: str) -> str:
    """A playbook's output as one line of words: Ansible wraps and quotes its messages where it likes."""
    return " ".join(text.replace("''", "'").split())


def a_version_to_roll_back_to(box) -> None:
    """A CodeDeploy service that has served only what its provision started (no deployment yet: a scenario run alone,
    or the first of its service) gets one deployment first: rollback.yml goes back to the newest earlier successful
    deployment, and the provision's first version is none."""
    if not [d for d in box.deployments() if d["status"] == "Succeeded"]:
        box.playbook("deploy.yml", "-e", f"image_tag={box.next_version()}")


def verify(box, *extra: str) -> tuple[int, str]:
    """verify.yml's exit code and output."""
    result = box.playbook("playbooks/verify.yml", *extra, check=False)
    return result.returncode, result.stdout


def failed_lines(output: str) -> list[str]:
    """verify.yml's FAILED findings, each on one line (the debug output wraps long lines)."""
    quoted = re.findall(r"- '(FAILED(?:[^']|'')*)'", output)  # YAML single quotes: '' is one quote
    return [" ".join(line.replace("''", "'").split()) for line in quoted]
