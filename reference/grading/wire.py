"""The message format between the grader and the worker that runs untrusted code.

A frame is an 8-byte length, a JSON header, and NumPy arrays in ``.npy``
format loaded with ``allow_pickle=False`` — never pickle, so bytes from the
untrusted side cannot execute code on the trusted side. Frames larger than
:data:`MAX_FRAME` are refused.

Standard library and NumPy only: the worker imports this file by path,
without the ``reference`` package.
"""
from __future__ import annotations

import io
import json
import socket
import struct
import time

import numpy as np

MAX_FRAME = 1 << 28  # 256 MiB: far above any graded case


class WireError(Exception):
    """A frame could not be read: the peer closed (:class:`ConnectionClosed`), sent too much
    (:class:`FrameTooLarge`), or sent garbage (:class:`MalformedFrame`)."""


class ConnectionClosed(WireError):
    """The peer closed the connection before a whole frame arrived."""


class FrameTooLarge(WireError):
    """A frame's announced size is above the limit (it is not read)."""


class MalformedFrame(WireError):
    """A frame arrived but is not a well-formed header and arrays."""


def _recv_exactly(sock: socket.socket, n: int, deadline: float | None = None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:  # one deadline for the whole frame, not one per recv()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("deadline passed")
            sock.settimeout(remaining)
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionClosed("connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def send(sock: socket.socket, header: dict, arrays: list | None = None) -> None:
    """Send a JSON-able header and a list of arrays (entries may be None)."""
    arrays = arrays or []
    blobs = []
    for a in arrays:
        if a is None:
            blobs.append(b"")
            continue
        buf = io.BytesIO()
        np.save(buf, np.asarray(a), allow_pickle=False)
        blobs.append(buf.getvalue())
    head = json.dumps({**header, "_sizes": [len(b) for b in blobs]}).encode()
    body = struct.pack("<I", len(head)) + head + b"".join(blobs)
    sock.sendall(struct.pack("<Q", len(body)) + body)


def recv(sock: socket.socket, deadline: float | None = None, max_frame: int = MAX_FRAME) -> tuple[dict, list]:
    """Receive (header, arrays) by ``deadline`` (time.monotonic()); WireError on anything malformed."""
    (size,) = struct.unpack("<Q", _recv_exactly(sock, 8, deadline))
    if size > max_frame:
        raise FrameTooLarge(f"frame of {size} bytes exceeds the {max_frame}-byte limit")
    body = _recv_exactly(sock, size, deadline)
    try:
        (head_len,) = struct.unpack("<I", body[:4])
        header = json.loads(body[4:4 + head_len])
        offset, arrays = 4 + head_len, []
        for n in header.pop("_sizes"):
            blob = body[offset:offset + n]
            offset += n
            arrays.append(np.load(io.BytesIO(blob), allow_pickle=False) if n else None)
    except Exception as exc:  # malformed frame from the untrusted side
        raise MalformedFrame(f"malformed frame: {type(exc).__name__}: {exc}") from None
    if not isinstance(header, dict):
        raise MalformedFrame("malformed frame: header is not an object")
    return header, arrays


def to_json(value):
    """Tuples become lists on the wire; :func:`from_json` turns lists back into tuples."""
    return list(map(to_json, value)) if isinstance(value, (tuple, list)) else value


def from_json(value):
    return tuple(map(from_json, value)) if isinstance(value, list) else value
