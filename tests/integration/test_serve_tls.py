"""``server.tls``: `errorbudget serve` answers the dashboard, the API and ``/metrics`` over
HTTPS with the configured certificate (a real process on 127.0.0.1), refuses plain HTTP on
that port, and a missing certificate file stops it before it listens, naming the file."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from real_servers import self_signed
from serving import start, stop

from errorbudget.cli.main import main
from errorbudget.simulate.server import free_port

CONFIG = """\
version: 1
store: {{path: serve.db}}
server:
  anonymous_read: true
  tls: {{cert_file: {cert}, key_file: {key}}}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {{type: rolling, length: 1d}}
"""


def test_serve_answers_over_https_with_the_configured_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    config = tmp_path / "errorbudget.yaml"
    config.write_text(CONFIG.format(cert=cert.name, key=key.name), encoding="utf-8")
    trust = ssl.create_default_context(cafile=str(cert))
    served = start(config, tls=trust)
    try:
        assert served.url.startswith("https://127.0.0.1:")
        metrics = httpx.get(served.url + "/metrics", verify=trust, timeout=10)
        assert metrics.status_code == 200 and "errorbudget_target" in metrics.text
        api = httpx.get(served.url + "/api/v1/slos", verify=trust, timeout=10)
        assert api.status_code == 200
        plain = served.url.replace("https://", "http://")
        with pytest.raises(httpx.HTTPError):  # no plain HTTP on that port
            httpx.get(plain + "/healthz", timeout=5).raise_for_status()
        with pytest.raises(httpx.ConnectError):  # nor HTTPS with an untrusted certificate
            httpx.get(served.url + "/healthz", timeout=5)
    finally:
        assert stop(served) == 0


def test_a_missing_certificate_file_stops_serve_before_it_listens(tmp_path: Path) -> None:
    config = tmp_path / "errorbudget.yaml"
    config.write_text(CONFIG.format(cert="absent.pem", key="absent-key.pem"), encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "-c", str(config), "--port", str(free_port())])
    assert result.exit_code == 1, result.output
    assert "tls.cert_file" in result.output and "absent.pem" in result.output


def test_a_certificate_that_does_not_load_stops_serve_before_it_listens(tmp_path: Path) -> None:
    """A key that is not the certificate's, or a file that is no PEM, is a config error
    before anything listens or runs (uvicorn would only find it after the jobs started,
    as a traceback); an encrypted key is refused rather than prompting for a passphrase."""
    from errorbudget.errors import ConfigError
    from errorbudget.exporter_settings import ExporterTLS, tls_files

    _, key = self_signed(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    self_signed(other)
    (tmp_path / "junk.pem").write_text("not a certificate\n", encoding="utf-8")
    encrypted = tmp_path / "encrypted-key.pem"
    subprocess.run(
        ["openssl", "pkey", "-in", str(key), "-out", str(encrypted), "-aes256",
         "-passout", "pass:secret"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    assert tls_files(tmp_path, ExporterTLS(cert_file="cert.pem", key_file="key.pem"))
    for cert_file, key_file in [
        ("cert.pem", "other/key.pem"),
        ("junk.pem", "key.pem"),
        ("cert.pem", "encrypted-key.pem"),
    ]:
        with pytest.raises(ConfigError, match="cannot be loaded") as raised:
            tls_files(tmp_path, ExporterTLS(cert_file=cert_file, key_file=key_file))
        assert "secret" not in str(raised.value)
    config = tmp_path / "errorbudget.yaml"
    config.write_text(CONFIG.format(cert="cert.pem", key="other/key.pem"), encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "-c", str(config), "--port", str(free_port())])
    assert result.exit_code == 1, result.output
    assert "tls" in result.output and "cannot be loaded" in result.output
