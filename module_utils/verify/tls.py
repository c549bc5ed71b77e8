"""The production listener's certificate covers the hostname the production probe verifies, is issued and has not
expired."""

from __future__ import annotations

import datetime

from .core import Finding, error_code, failed, ok
from .load_balancer import LoadBalancerChecks


class TlsChecks(LoadBalancerChecks):
    def tls(self) -> list[Finding]:
        listener = self._listeners().get("production")
        if not listener or listener.get("Protocol") != "HTTPS":
            return []
        config = self.facts.functions.get("AfterAllowTraffic") or {}
        hostname = ((config.get("Environment") or {}).get("Variables") or {}).get("PRODUCTION_HOSTNAME", "")
        subject = f"production listener :{listener['Port']}"
        if not hostname:
            return [
                failed(
                    "tls",
                    subject,
                    "the production listener is HTTPS but the production probe has no "
                    "hostname to verify the certificate against",
                    "set load_balancer_public_hostname",
                )
            ]
        arn = (listener.get("Certificates") or [{}])[0].get("CertificateArn")
        try:
            certificate = self.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
        except Exception as e:
            if error_code(e) != "ResourceNotFoundException":
                raise
            return [failed("tls", subject, f"certificate {arn} does not exist", "set load_balancer_certificate_arn")]
        names = [certificate.get("DomainName", ""), *certificate.get("SubjectAlternativeNames", [])]
        problems = []
        if certificate.get("Status") != "ISSUED":
            problems.append(f"it is {certificate.get('Status')}, not ISSUED")
        not_after = certificate.get("NotAfter")
        if isinstance(not_after, datetime.datetime) and not_after < datetime.datetime.now(not_after.tzinfo):
            problems.append(f"it expired {not_after:%Y-%m-%d}")
        if not any(_tls_name_matches(n, hostname) for n in names if n):
            problems.append(f"it is for {sorted(set(names))}, not {hostname}")
        if problems:
            return [
                failed(
                    "tls",
                    subject,
                    f"the production probe checks {hostname}, but certificate {arn}: "
                    + "; ".join(problems)
                    + ": the AfterAllowTraffic hook would fail and roll back",
                    "issue a certificate for that name in ACM and set load_balancer_certificate_arn, or fix "
                    "load_balancer_public_hostname",
                )
            ]
        return [ok("tls", subject, f"certificate covers {hostname}, ISSUED")]


def _tls_name_matches(pattern: str, hostname: str) -> bool:
    """A certificate name covers a hostname: exactly, or a wildcard for exactly one leftmost label (RFC 6125)."""
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname
