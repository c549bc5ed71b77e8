"""Loaded by the sandbox's Lambda runner (on the function's PYTHONPATH, never part of the function's code): the
function's connections leave from its own address, as a Lambda function's leave from its network interface.

On AWS the network decides where a function's packets come from; on this one machine every process would come
from 127.0.0.1. With SANDBOX_SOURCE_ADDRESS set, every IPv4 socket that connects unbound is first bound to that
loopback address, whatever library opens it (urllib, urllib3 under boto3), so the load balancer's security group
can tell the function from the host.
"""

import os
import socket

_SOURCE = os.environ.get("SANDBOX_SOURCE_ADDRESS")

if _SOURCE:
    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _bind_source(sock: socket.socket) -> None:
        if sock.family == socket.AF_INET:
            try:
                if sock.getsockname()[1] == 0:
                    sock.bind((_SOURCE, 0))
            except OSError:
                pass  # already bound or connected: leave it as it is

    def connect(self, address):
        _bind_source(self)
        return _connect(self, address)

    def connect_ex(self, address):
        _bind_source(self)
        return _connect_ex(self, address)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex

# A connection to the sandbox's unreachable address (sandbox/ec2/network.py: an AWS API the function's subnet has no
# path to) is dropped, as a packet with no route is: it times out after the socket's timeout, never refused.
_UNREACHABLE = os.environ.get("SANDBOX_UNREACHABLE_ADDRESS")

if _UNREACHABLE:
    import time

    _connect_before_drop = socket.socket.connect

    def connect_dropped(self, address):
        if isinstance(address, tuple) and address[0] == _UNREACHABLE:
            time.sleep(self.gettimeout() if self.gettimeout() is not None else 120)
            raise TimeoutError(110, "Connection timed out")
        return _connect_before_drop(self, address)

    socket.socket.connect = connect_dropped
