"""What differs between servo protocols on the wire, as data: a PacketCodec per vendor.

The bus (bus.ServoBus) runs every transaction, retry and status check the same way for all vendors; it
asks the codec only how to frame a packet, how to read an answer, how wide address fields are and what an
error byte means. feetech.FEETECH_CODEC and dynamixel.DYNAMIXEL_CODEC are the two instances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prop_desktop.arm.packet_io import ByteSource


@dataclass
class StatusPacket:
    """A parsed status (answer) packet: servo id, error byte, parameter bytes (unstuffed)."""

    servo_id: int
    error: int
    params: bytes = field(default=b"")


# Instruction codes both protocols share (Feetech STS copied them from Dynamixel).
PING, READ, WRITE, SYNC_READ, SYNC_WRITE = 0x01, 0x02, 0x03, 0x82, 0x83


@dataclass(frozen=True)
class PacketCodec:
    """How one protocol frames packets and reports errors."""

    name: str
    broadcast_id: int
    # Bytes of a status packet around its parameters (header, id, length, error, checksum): sizes deadlines.
    status_overhead: int
    # Bytes of an address and of a length field in READ / WRITE / SYNC instructions (little-endian).
    span_bytes: int
    # Parameter bytes of a ping answer: Dynamixel sends model (2) + firmware (1); Feetech sends none, so the
    # model is read from the model_number register afterwards.
    ping_answer_bytes: int
    build_packet: Callable[[int, int, bytes], bytes]
    read_status: Callable[[ByteSource, float, list[int]], StatusPacket]
    # A nonzero status error byte -> (words, is_alarm). An alarm means the command was executed anyway.
    decode_status_error: Callable[[int], tuple[list[str], bool]]

    def span(self, address: int, length: int) -> bytes:
        """The address and length fields of an instruction; ValueError if they do not fit the protocol."""
        self.check_span(address, length)
        return self.field(address) + self.field(length)

    def field(self, value: int) -> bytes:
        return value.to_bytes(self.span_bytes, "little")

    def check_span(self, address: int, length: int) -> None:
        largest = (1 << (8 * self.span_bytes)) - 1
        if not (0 <= address <= largest and 1 <= length <= largest):
            raise ValueError(f"{self.name} address/length out of range: address {address}, length {length}")

    @property
    def ping_carries_model(self) -> bool:
        """True when a ping answer starts with the model number (else it is read from the control table)."""
        return self.ping_answer_bytes >= 2
