"""Is a Ray head there? Asked in seconds, because `ray.init(address=...)` waits minutes.

Ray's client retries a silent or foreign endpoint for a long time before it gives up, so a
typo in `--address` would look like a hang. The head's GCS is a gRPC (HTTP/2) server: a TCP
connect with a timeout, then the HTTP/2 preface answered by a SETTINGS frame, tells a Ray
head from nothing and from another kind of server.
"""

from __future__ import annotations

import socket

from codesign.errors import CodesignError

PROBE_TIMEOUT_S = 5.0
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_EMPTY_SETTINGS = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_SETTINGS_FRAME = 4


def split_address(address: str) -> tuple[str, int]:
    """`HOST:PORT` (optionally `ray://HOST:PORT`) -> (host, port)."""
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep or not host or not port.isdigit():
        raise CodesignError(
            f"--address {address!r} is not HOST:PORT; give the head's address as printed by "
            "`ray start --head`, e.g. 10.0.0.5:6379"
        )
    return host.strip("[]"), int(port)


def check_ray_head(address: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise a one-line CodesignError unless a gRPC server answers at `address`."""
    host, port = split_address(address)
    fix = ("start the head there with `ray start --head --port=PORT`, or fix --address "
           "(the head prints it)")
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(_HTTP2_PREFACE + _EMPTY_SETTINGS)
            header = conn.recv(9)
    except TimeoutError:
        raise CodesignError(
            f"no Ray head answers at {address} within {timeout:g} s; {fix}"
        ) from None
    except OSError as err:
        raise CodesignError(
            f"no Ray head at {address} ({err.strerror or err}); {fix}"
        ) from None
    if len(header) < 9 or header[3] != _SETTINGS_FRAME:
        raise CodesignError(
            f"the server at {address} is not a Ray head (it does not speak gRPC); give the "
            "port of `ray start --head --port=PORT` (6379 by default)"
        )
