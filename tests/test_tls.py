"""TLS on both listeners: with --tls-cert/--tls-key a gRPC call and an HTTPS call succeed for a client
that trusts the CA, and fail for one that does not (or that speaks plaintext)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from support import Server

from envoy_grpc.gen.envoy.v1 import system_pb2, system_pb2_grpc

Factory = Callable[..., Awaitable[Server]]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A CA-less self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "envoy-grpc test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
async def tls_server(server_factory: Factory, tmp_path: Path) -> tuple[Server, Path]:
    cert, key = self_signed(tmp_path)
    return await server_factory(tls_cert=cert, tls_key=key), cert


async def health(channel: grpc.aio.Channel) -> str:
    answer = await system_pb2_grpc.SystemServiceStub(channel).GetHealth(
        system_pb2.GetHealthRequest(), timeout=5
    )
    return str(answer.status)


async def test_grpc_over_tls_works_with_the_ca_and_fails_without(tls_server: tuple[Server, Path]) -> None:
    server, cert = tls_server
    target = f"127.0.0.1:{server.running.grpc_port}"
    trusted = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())

    async with grpc.aio.secure_channel(target, trusted) as channel:
        assert await health(channel) == "ok"
    async with grpc.aio.secure_channel(target, grpc.ssl_channel_credentials()) as untrusted:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health(untrusted)
    async with grpc.aio.insecure_channel(target) as plaintext:
        with pytest.raises(grpc.aio.AioRpcError) as plain_refused:
            await health(plaintext)

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert plain_refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_https_gateway_works_with_the_ca_and_fails_without(tls_server: tuple[Server, Path]) -> None:
    server, cert = tls_server
    url = f"https://127.0.0.1:{server.running.http_port}/health"
    trusted = ssl.create_default_context(cafile=str(cert))

    async with aiohttp.ClientSession() as http:
        async with http.get(url, ssl=trusted) as response:
            body = await response.json()
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with http.get(url, ssl=ssl.create_default_context()):
                pass
        with pytest.raises(aiohttp.ClientError):
            async with http.get(url.replace("https://", "http://")):
                pass

    assert response.status == 200 and body["status"] == "ok"


async def test_the_gateway_reaches_a_tls_server_over_loopback_with_the_same_auth(
    tls_server: tuple[Server, Path],
) -> None:
    server, cert = tls_server
    base = f"https://127.0.0.1:{server.running.http_port}"
    trusted = ssl.create_default_context(cafile=str(cert))

    async with aiohttp.ClientSession() as http:
        async with http.post(base + "/agents", json={"name": "a", "kind": "k"}, ssl=trusted) as created:
            agent = await created.json()
        async with http.get(base + "/agents/id1", ssl=trusted) as anonymous:
            refusal = await anonymous.json()

    assert created.status == 201 and agent["agent_id"] == "id1"
    assert anonymous.status == 401 and refusal["error"]["status"] == "UNAUTHENTICATED"


def test_half_a_tls_configuration_is_refused(tmp_path: Path) -> None:
    from envoy_grpc.config import Config

    cert, _ = self_signed(tmp_path)
    with pytest.raises(ValueError, match="--tls-cert and --tls-key go together"):
        Config(data_dir=tmp_path, tls_cert=cert).check()
    with pytest.raises(ValueError, match="is not a readable file"):
        Config(data_dir=tmp_path, tls_cert=cert, tls_key=tmp_path / "missing.pem").check()


async def test_a_new_data_directory_is_private_to_its_user(server: Server) -> None:
    mode = server.running.config.data_dir.stat().st_mode & 0o777
    assert mode == 0o700
