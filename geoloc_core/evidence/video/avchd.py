"""An AVCHD camcorder's capture time (.mts / .m2ts), read where exiftool reads it: the "MDPM" (Modified DV
Pack Meta) records of an H.264 SEI message, unregistered user data with UUID 17ee8c60-f84d-11d9-8cd6-0800200c9a66.

Why here and not from FFmpeg: the transport stream carries no date tag, and FFmpeg neither exports this
SEI as metadata nor (before decoding) as side data; decoding frames only to reach it would cost more than
reading the first packets' bytes. So the first ``MAX_PACKETS`` video packets (Annex B NAL units) are
scanned, bounded in count and bytes, and a malformed message is skipped, never raised.

The records (exiftool's H264.pm, tag 0x18 combined with 0x19): 0x18 = [time zone, year BCD (2 bytes),
month BCD], 0x19 = [day, hour, minute, second BCD]. The time-zone byte: 0x20 sign (set: west of UTC),
0x1e hours, 0x01 half hour, 0x40 daylight saving in effect.
"""
from __future__ import annotations

MDPM_UUID = bytes.fromhex("17ee8c60f84d11d98cd60800200c9a66")
MAX_PACKETS = 60  # AVCHD repeats the MDPM in every I-frame's access unit: the first GOP suffices
MAX_BYTES = 4_000_000  # of packet data scanned
SOURCE = "MDPM DateTimeOriginal (H.264 SEI, AVCHD)"
_SEI, _USER_DATA_UNREGISTERED = 6, 5


def nal_units(data: bytes):
    """The NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01), emulation prevention
    bytes (00 00 03) removed."""
    starts = []
    at = data.find(b"\x00\x00\x01")
    while at != -1:
        starts.append(at + 3)
        at = data.find(b"\x00\x00\x01", at + 3)
    for index, start in enumerate(starts):
        end = starts[index + 1] - 3 if index + 1 < len(starts) else len(data)
        yield data[start:end].rstrip(b"\x00").replace(b"\x00\x00\x03", b"\x00\x00")


def _sei_user_data(rbsp: bytes):
    """The payloads of the user_data_unregistered messages in one SEI NAL unit's body (header byte removed)."""
    pos = 0
    while pos + 2 <= len(rbsp) and rbsp[pos] != 0x80:  # 0x80: the trailing bits
        kind = size = 0
        while pos < len(rbsp) and rbsp[pos] == 0xFF:
            kind, pos = kind + 255, pos + 1
        if pos >= len(rbsp):
            return
        kind, pos = kind + rbsp[pos], pos + 1
        while pos < len(rbsp) and rbsp[pos] == 0xFF:
            size, pos = size + 255, pos + 1
        if pos >= len(rbsp):
            return
        size, pos = size + rbsp[pos], pos + 1
        if pos + size > len(rbsp):
            return
        if kind == _USER_DATA_UNREGISTERED:
            yield rbsp[pos:pos + size]
        pos += size


def _bcd(byte: int) -> int:
    high, low = byte >> 4, byte & 0x0F
    if high > 9 or low > 9:
        raise ValueError(f"not a BCD digit pair (0x{byte:02x})")
    return high * 10 + low


def parse_mdpm(payload: bytes) -> tuple[str, str, bool] | None:
    """(local ISO time, offset "+HH:MM", daylight saving flag) from one user-data payload, or None when it is
    not an MDPM record with a valid date."""
    if not payload.startswith(MDPM_UUID + b"MDPM") or len(payload) < 21:
        return None
    count, pos, records = payload[20], 21, {}
    for _ in range(count):
        if pos + 5 > len(payload):
            break
        records[payload[pos]] = payload[pos + 1:pos + 5]
        pos += 5
    first, second = records.get(0x18), records.get(0x19)
    if first is None or second is None:
        return None
    zone = first[0]
    try:
        year = _bcd(first[1]) * 100 + _bcd(first[2])
        month, day, hour, minute, sec = _bcd(first[3]), *(_bcd(b) for b in second)
    except ValueError:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and sec < 62 and year >= 1990):
        return None
    offset = f"{'-' if zone & 0x20 else '+'}{(zone >> 1) & 0x0F:02d}:{'30' if zone & 0x01 else '00'}"
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{min(sec, 59):02d}", offset, bool(zone & 0x40)


def mdpm_time(packets) -> tuple[str, str, bool] | None:
    """The first MDPM date in ``packets`` (bytes of H.264 Annex B packets), within the module's bounds."""
    scanned = 0
    for count, data in enumerate(packets):
        scanned += len(data)
        if count >= MAX_PACKETS or scanned > MAX_BYTES:
            return None
        for nal in nal_units(data):
            if nal and nal[0] & 0x1F == _SEI:
                for payload in _sei_user_data(nal[1:]):
                    found = parse_mdpm(payload)
                    if found is not None:
                        return found
    return None


def read_mdpm_time(container, stream) -> tuple[str, str, bool] | None:
    """``mdpm_time`` of an open PyAV container's H.264 ``stream`` (its first packets); None on any failure."""
    def packets():
        for packet in container.demux(stream):
            if packet.size:
                yield bytes(packet)
    try:
        return mdpm_time(packets())
    except Exception:  # a damaged stream costs only this claim
        return None
