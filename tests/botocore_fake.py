"""The one fake of AWS answers the tests use, checked against the service models both ways.

`Answers` answers chosen operations of boto3 clients from handlers (`handlers[operation](params)`). botocore
validates every request against the service model before a handler sees it (a wrong parameter name or type
fails the test as it would fail against AWS), and every answer is validated against the operation's output
shape, as botocore's Stubber does; an `AwsError` raised by a handler is answered as AWS's error. Unlike
Stubber's fixed queue, answers come from handlers, so a deployment can move on a simulated clock whatever the
polling order. An operation without a handler either fails the test (`fallthrough=False`: the module tests,
which talk to nothing else) or goes on to the client's endpoint (`fallthrough=True`: the hook tests, where moto
answers everything it answers as AWS does).
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Callable

from botocore.awsrequest import AWSResponse
from botocore.validate import ParamValidator


class AwsError(Exception):
    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(code)
        self.code, self.message, self.status = code, message, status


class Answers:
    def __init__(self, *, fallthrough: bool = False) -> None:
        self.fallthrough = fallthrough
        self.handlers: dict[str, Callable[[dict], dict | None]] = {}
        self.calls: list[tuple[str, dict]] = []
        self.throttles: dict[str, int] = defaultdict(int)
        # The API-level parameters of the call being made, per thread (before-parameter-build precedes
        # before-call in the same thread).
        self._pending = threading.local()

    def install(self, client) -> None:
        client.meta.events.register_first("before-parameter-build.*.*", self._capture)
        client.meta.events.register("before-call.*.*", self._answer)

    def throttle(self, operation: str, times: int) -> None:
        """The next `times` calls of `operation` fail with ThrottlingException."""
        self.throttles[operation] += times

    def called(self, operation: str) -> list[dict]:
        """The parameters of each call of `operation` that was answered here, in order."""
        return [params for name, params in self.calls if name == operation]

    def _capture(self, model, params, **_kwargs) -> None:
        self._pending.call = (model.name, copy.deepcopy(params))

    def _answer(self, model, **_kwargs):
        name, params = self._pending.__dict__.pop("call")
        handler = self.handlers.get(name)
        if handler is None and not self.throttles[name]:
            if self.fallthrough:
                return None
            raise AssertionError(f"unexpected call {name}({params})")
        self.calls.append((name, params))
        if self.throttles[name] > 0:
            self.throttles[name] -= 1
            return self._error(AwsError("ThrottlingException", "Rate exceeded", 400))
        assert handler is not None
        try:
            response = handler(params) or {}
        except AwsError as error:
            return self._error(error)
        report = ParamValidator().validate(response, model.output_shape) if model.output_shape else None
        if report is not None and report.has_errors():
            raise AssertionError(f"fake {name} response does not fit the model: {report.generate_report()}")
        return AWSResponse(None, 200, {}, None), dict(response, ResponseMetadata={"HTTPStatusCode": 200})

    @staticmethod
    def _error(error: AwsError):
        parsed = {
            "ResponseMetadata": {"HTTPStatusCode": error.status},
            "Error": {"Code": error.code, "Message": error.message},
        }
        return AWSResponse(None, error.status, {}, None), parsed
