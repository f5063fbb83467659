"""TLS for the two listeners: gRPC server credentials and the gateway's ssl context, from PEM files."""

from __future__ import annotations

import ssl

import grpc

from envoy_grpc.config import Config


def _pem(config: Config) -> tuple[bytes, bytes]:
    assert config.tls_cert is not None and config.tls_key is not None
    return config.tls_cert.read_bytes(), config.tls_key.read_bytes()


def server_credentials(config: Config) -> grpc.ServerCredentials:
    """Server-side TLS (no client certificates: callers authenticate with bearer tokens)."""
    cert, key = _pem(config)
    return grpc.ssl_server_credentials([(key, cert)])


def gateway_context(config: Config) -> ssl.SSLContext:
    """TLS 1.2 or newer for HTTPS, with the same certificate as the gRPC port."""
    assert config.tls_cert is not None and config.tls_key is not None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context
