"""Run our Ansible modules in-process, the way ansible-playbook would, against fake AWS clients."""

from __future__ import annotations

import json
import sys
import time

import ansible.module_utils
import pytest
from ansible.module_utils.testing import patch_module_args

from tests.conftest import REPO_ROOT

# What ansible.cfg's `library` and `module_utils` do for ansible-playbook.
if str(REPO_ROOT / "module_utils") not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(REPO_ROOT / "module_utils"))
if str(REPO_ROOT / "library") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "library"))

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

from tests.unit.library.fake_aws import FakeClock


class ModuleResult(dict):
    @property
    def failed(self) -> bool:
        return bool(self.get("failed"))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Simulated time for waits and retry back-offs: a test never sleeps for real."""
    fake = FakeClock()
    monkeypatch.setattr(time, "monotonic", fake.monotonic)
    monkeypatch.setattr(time, "sleep", fake.sleep)
    return fake


@pytest.fixture
def run_module(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """run_module(module, args, clients={"codedeploy": fake}, check_mode=False, diff=False) -> result dict."""

    def run(module, args: dict, clients: dict, check_mode: bool = False, diff: bool = False) -> ModuleResult:
        def client(self, service, retry_decorator=None, **_extra):
            real = clients[service].client
            return real if retry_decorator is None else RetryingBotoClientWrapper(real, retry_decorator)

        monkeypatch.setattr(AnsibleAWSModule, "client", client)
        monkeypatch.setattr(
            "ansible.module_utils.codedeploy.tags.get_aws_account_info",
            lambda module: ("123456789012", "aws"),
        )
        aws = {"region": "eu-west-1"} if clients else {}  # only AWS modules take a region
        full_args = {**aws, "_ansible_check_mode": check_mode, "_ansible_diff": diff, **args}
        capsys.readouterr()
        with patch_module_args(full_args), pytest.raises(SystemExit):
            module.main()
        return ModuleResult(json.loads(capsys.readouterr().out))

    return run
