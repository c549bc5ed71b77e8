"""The production probe over HTTPS names the service's hostname (SNI, Host, the certificate's name) while it
connects to the load balancer's address: an ACM certificate never covers *.elb.amazonaws.com."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hooks.common import Budget
from hooks.http_probe import request
from sandbox.acm import tls

HOSTNAME = "orders.example.test"


@pytest.fixture
def tls_listener(tmp_path, monkeypatch) -> Iterator[tuple[str, list]]:
    # A certificate for the service's hostname from the sandbox's CA, which stands in for a public CA: the
    # probe's default context trusts it.
    pem = tls.listener_pem(tmp_path, [HOSTNAME])
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "tls" / "ca.pem"))
    seen: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.headers.get("Host"), self.connection.server_hostname))
            body = b'{"status": "healthy", "version": "2.0.0"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)

    def remember_sni(sock, server_name, _context):
        sock.server_hostname = server_name

    context.sni_callback = remember_sni
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_https_probe_sends_the_service_hostname_as_sni_and_host(tls_listener) -> None:
    url, seen = tls_listener
    result = request("GET", url + "/health", Budget(10), 5, server_name=HOSTNAME)
    assert result.status == 200, result.describe()
    assert result.json()["version"] == "2.0.0"
    assert seen == [(HOSTNAME, HOSTNAME)]


def test_https_probe_by_the_load_balancers_address_fails_verification(tls_listener) -> None:
    """What the hook did before: the certificate does not cover the address it connects to."""
    url, seen = tls_listener
    result = request("GET", url + "/health", Budget(10), 5)
    assert result.status is None
    assert "CERTIFICATE_VERIFY_FAILED" in result.error or "IP address mismatch" in result.error
    assert seen == []
