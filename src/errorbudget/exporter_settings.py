"""``exporter:``: how ``errorbudget exporter`` listens and who may scrape it (docs/exporter.md).

The Genesys queue families it serves are configured by their source
(``sources.genesys.queue_metrics``); this section is only the listener: address, TLS, and
basic or bearer authentication for scrapes.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from errorbudget.errors import ConfigError

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
HASH_FORMS = "a bcrypt hash ($2b$…) or sha256:<64 hex digits>"
MAX_BCRYPT_COST = 14
"""A bcrypt hash's cost is checked on every scrape (and every wrong password, never
remembered): cost 14 is ~1 s here, and each step doubles it."""


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ExporterTLS(_Settings):
    """HTTPS for scrapes: a certificate chain and its private key (PEM files; a relative
    path is relative to the config file's directory)."""

    cert_file: str = Field(min_length=1)
    key_file: str = Field(min_length=1)


def tls_files(base: Path, tls: ExporterTLS | None) -> tuple[str | None, str | None]:
    """The certificate and key paths of ``tls`` (relative ones under ``base``, the config
    file's directory); (None, None) without TLS. A missing file, or a pair that does not
    load (not PEM, a key that is not the certificate's, an encrypted key), is a ConfigError
    naming it, raised before anything listens."""
    if tls is None:
        return None, None
    paths = {"cert_file": base / tls.cert_file, "key_file": base / tls.key_file}
    for key, path in paths.items():
        if not path.is_file():
            raise ConfigError(f"tls.{key}: {path} is not a file")
    cert, key = str(paths["cert_file"]), str(paths["key_file"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:  # what uvicorn does only once the jobs run; never a passphrase prompt
        context.load_cert_chain(cert, key, password=_no_passphrase)
    except _EncryptedKeyError:
        reason = "the key is encrypted (give it without a passphrase)"
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = str(exc)
    else:
        return cert, key
    raise ConfigError(
        f"tls: {cert} and {key} cannot be loaded as a certificate and its key: {reason}"
    )


class _EncryptedKeyError(Exception):
    pass


def _no_passphrase() -> bytes:
    raise _EncryptedKeyError


class ExporterAuth(_Settings):
    """Who may scrape: HTTP basic (a username and a hashed password, or the password in an
    environment variable) or a bearer token from an environment variable."""

    type: Literal["basic", "bearer"]
    username: str | None = None
    password_hash: SecretStr | None = None
    """bcrypt (``$2b$…``, the ``bcrypt`` extra) or ``sha256:<hex>`` of the password."""
    password_env: str | None = Field(default=None, pattern=ENV_NAME)
    """Environment variable holding the password (instead of ``password_hash``)."""
    token_env: str | None = Field(default=None, pattern=ENV_NAME)
    """Environment variable holding the bearer token."""

    @field_validator("password_hash")
    @classmethod
    def _hash_form(cls, value: SecretStr | None) -> SecretStr | None:
        text = value.get_secret_value() if value is not None else None
        if text is not None and not (
            re.match(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$", text)
            or re.match(r"^sha256:[0-9a-fA-F]{64}$", text)
        ):
            raise ValueError(f"password_hash must be {HASH_FORMS}")
        if text is not None and text.startswith("$2") and int(text[4:6]) > MAX_BCRYPT_COST:
            raise ValueError(
                f"bcrypt cost {int(text[4:6])} is above {MAX_BCRYPT_COST}; "
                "each scrape, and each wrong password, would hold a worker for seconds "
                "(use cost 10-12)"
            )
        return value

    @model_validator(mode="after")
    def _complete(self) -> ExporterAuth:
        if self.type == "basic":
            if not self.username:
                raise ValueError("basic authentication needs a username")
            if (self.password_hash is None) == (self.password_env is None):
                raise ValueError("basic authentication needs one of password_hash, password_env")
            if self.token_env is not None:
                raise ValueError("token_env is for type: bearer")
        else:
            if self.token_env is None:
                raise ValueError("bearer authentication needs token_env")
            if self.username or self.password_hash or self.password_env:
                raise ValueError("username and passwords are for type: basic")
        return self


class ExporterSettings(_Settings):
    """``errorbudget exporter``: where it listens, TLS and scrape authentication."""

    listen: str = Field(default="127.0.0.1:9464", pattern=r"^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d+$")
    """``host:port`` (``[::1]:9464`` for IPv6); ``--listen`` overrides it."""
    tls: ExporterTLS | None = None
    auth: ExporterAuth | None = None
    """Default: scrapes need no credentials (bind to loopback, or set this)."""
    slo_metrics: bool = True
    """Also serve the SLO families (budgets, burn rates) read from the store, when the
    store file exists."""
