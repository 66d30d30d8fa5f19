"""The server half of RFC 6455 that Socket Mode needs: the opening handshake and frames.

Client frames arrive masked and may be fragmented; server frames go out unmasked and whole.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA
_CONTROL = frozenset({OP_CLOSE, OP_PING, OP_PONG})

# Far above any Slack payload; a frame claiming more is a broken or hostile client.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The peer broke RFC 6455; the connection must be failed (close code 1002)."""


@dataclass(frozen=True)
class Frame:
    """One frame as received: opcode, FIN bit and the unmasked payload."""

    opcode: int
    fin: bool
    payload: bytes


def accept_key(client_key: str) -> str:
    """The Sec-WebSocket-Accept value answering a client's Sec-WebSocket-Key."""
    digest = hashlib.sha1((client_key.strip() + _GUID).encode()).digest()
    return base64.b64encode(digest).decode()


def encode_frame(opcode: int, payload: bytes = b"") -> bytes:
    """A single unmasked frame with FIN set, as a server sends it."""
    length = len(payload)
    head = bytes([0x80 | opcode])
    if length < 126:
        head += bytes([length])
    elif length < 1 << 16:
        head += bytes([126]) + struct.pack("!H", length)
    else:
        head += bytes([127]) + struct.pack("!Q", length)
    return head + payload


def close_payload(code: int, reason: str = "") -> bytes:
    """The body of a close frame: a two-byte status code and a UTF-8 reason."""
    return struct.pack("!H", code) + reason.encode()[:123]


def read_frame(read_exactly: Callable[[int], bytes]) -> Frame:
    """Read one client frame; EOFError when the peer has gone, ProtocolError when it misbehaves."""
    first, second = read_exactly(2)
    opcode, fin = first & 0x0F, bool(first & 0x80)
    if first & 0x70:
        raise ProtocolError("reserved bits set without a negotiated extension")
    if not second & 0x80:
        raise ProtocolError("client frames must be masked")
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", read_exactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", read_exactly(8))
    if opcode in _CONTROL and (length > 125 or not fin):
        raise ProtocolError("control frames must be short and unfragmented")
    if length > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"frame of {length} bytes is too large")
    mask = read_exactly(4)
    masked = read_exactly(length)
    return Frame(opcode, fin, unmask(mask, masked))


def unmask(mask: bytes, data: bytes) -> bytes:
    """XOR `data` with the repeating four-byte mask (one big-integer XOR, not a byte loop)."""
    if not data:
        return b""
    key = (mask * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


def exact_reader(read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """Wrap a blocking `read(n)` so it returns exactly n bytes or raises EOFError."""

    def read_exactly(size: int) -> bytes:
        chunks: list[bytes] = []
        wanted = size
        while wanted > 0:
            chunk = read(wanted)
            if not chunk:
                raise EOFError("the peer closed the connection")
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    return read_exactly
