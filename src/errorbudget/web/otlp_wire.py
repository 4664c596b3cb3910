"""What the OTLP/HTTP receiver and the admission middleware share: the path, the two
encodings and how an error is answered on that path.

The OTLP/HTTP specification (https://opentelemetry.io/docs/specs/otlp/#failures-1) wants
every 4xx/5xx body to be a ``google.rpc.Status`` in the request's encoding, so an exporter
can log its message. ``Status`` is two scalar fields here (``code`` 1, ``message`` 2; no
details), written by hand so this module, imported by every request's admission, loads no
protobuf runtime.
"""

from __future__ import annotations

import json
from typing import Literal

from starlette.datastructures import Headers
from starlette.responses import Response

TRACES_PATH = "/v1/traces"

Encoding = Literal["protobuf", "json"]

MEDIA_TYPES: dict[str, Encoding] = {
    "application/x-protobuf": "protobuf",
    "application/json": "json",
}

GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 422: 3, 500: 13, 503: 14}
"""The ``google.rpc.Code`` of each HTTP status the receiver answers (INVALID_ARGUMENT,
UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE)."""


def media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def encoding_of(headers: Headers) -> Encoding | None:
    """The request's OTLP encoding, or None for any other content type."""
    return MEDIA_TYPES.get(media_type(headers))


def status_response(
    status_code: int,
    message: str,
    encoding: Encoding | None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error answer whose body is a ``google.rpc.Status`` (JSON for a JSON request or an
    unknown one, protobuf for a protobuf request)."""
    code = GRPC_CODES.get(status_code, 2)  # 2: UNKNOWN
    if encoding == "protobuf":
        return Response(
            _status_protobuf(code, message),
            status_code=status_code,
            media_type="application/x-protobuf",
            headers=headers,
        )
    body = json.dumps({"code": code, "message": message}).encode("utf-8")
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def _status_protobuf(code: int, message: str) -> bytes:
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
