"""The one reader of PTIBENCH records in a serial capture (docs/output-format.md).

run-qemu.sh's verdict (harness.py), the boot tests (tests/boot/bootlib.py) and the report tool
(parse.py) all find records with `scan`, so they cannot disagree about what a record is. What
each does with a record (validation, diagnostics, which ones count) is its own business.

- a physical line ends at "\\n" (line numbers match `grep -n`); inside it, ANSI escape sequences
  are removed and a lone "\\r" (a terminal's carriage return) separates segments, so a record
  that follows progress text overwritten with "\\r" is still found;
- a record is `PTIBENCH {` anywhere in a segment followed by one JSON object (RFC 8259: no NaN
  or Infinity); several may share a segment. One that does not decode is *damaged*: it is
  yielded with the reason, and scanning goes on after its marker.

Standard library only: run-qemu.sh runs this with Debian's bare python3.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

MARKER = "PTIBENCH {"

# ANSI/VT escape sequences. OSC and DCS-like strings only when terminated: an unterminated one
# would otherwise swallow the rest of the line, record included.
_ANSI_RE = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                  # CSI: colours, cursor moves, clear screen
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)        # OSC ... BEL or ST: window titles
    | \x1b[PX^_][^\x1b]*\x1b\\                 # DCS/SOS/PM/APC ... ST
    | \x1b[ -/]*[0-~]                          # two/three-byte escapes: ESC c, ESC ( B, ESC 7
    | \x1b                                     # a lone ESC (cut sequence)
    """,
    re.VERBOSE,
)


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences. Never touches a valid record: JSON cannot hold a raw ESC."""
    return _ANSI_RE.sub("", text)


def clean_line(line: str) -> str:
    """A serial line without its line end and ANSI escape sequences."""
    return strip_ansi(line.rstrip("\r\n")).rstrip("\r")


def decode(data: bytes) -> str:
    """Bytes from a serial port to text.

    UTF-8 with replacement: records are ASCII, so a byte that is not valid UTF-8 can only be
    noise, and replacing it keeps line structure and numbering intact.
    """
    return data.decode("utf-8", errors="replace")


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; RFC 8259 (and the contract) does not.
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


@dataclass
class Found:
    """One `PTIBENCH {` occurrence: the record, or why it could not be read."""

    line: int  # physical line, from 1
    segment: str  # the segment holding it: ANSI escapes removed, no "\r"
    start: int  # where the marker starts in `segment`
    end: int  # where the JSON object ends (== start when damaged)
    record: Optional[dict[str, Any]]  # None: damaged
    error: Optional[str] = None  # for a damaged one: what and where ("Expecting ... at ...")
    last: bool = False  # on the capture's last line, which has no final "\n"
    next_start: int = -1  # the next marker in the segment, -1 if none

    @property
    def json_text(self) -> str:
        """The record's JSON as it appeared."""
        return self.segment[self.start + len(MARKER) - 1:self.end]

    @property
    def trailing(self) -> str:
        """Text after the record, up to the next marker or the end of the segment."""
        if self.record is None:
            return ""
        stop = len(self.segment) if self.next_start < 0 else self.next_start
        return self.segment[self.end:stop]


def _decode_at(segment: str, start: int) -> tuple[Optional[dict[str, Any]], int, Optional[str]]:
    body = start + len(MARKER) - 1  # the "{"
    try:
        obj, end = _DECODER.raw_decode(segment, body)
    except json.JSONDecodeError as err:
        msg = err.msg[:-3] if err.msg.endswith(" at") else err.msg
        return None, start, f"{msg} at character {err.pos - body + 1} of the record"
    except ValueError as err:  # our NaN/Infinity refusal; an integer of over 4300 digits
        return None, start, str(err)
    except RecursionError:  # Python's decoder recurses once per level of nesting
        return None, start, "nested too deeply to read"
    return obj, end, None


def scan_line(number: int, raw: str, last: bool = False) -> Iterator[Found]:
    """The records of one physical line (without its "\\n")."""
    if "PTIBENCH" not in raw:  # fast path: most of a log is human text
        return
    for segment in strip_ansi(raw).split("\r"):
        start = segment.find(MARKER)
        while start >= 0:
            record, end, error = _decode_at(segment, start)
            nxt = segment.find(MARKER, end if record is not None else start + 1)
            yield Found(number, segment, start, end, record, error, last, nxt)
            start = nxt


def scan(text: str) -> Iterator[Found]:
    """Every record (and damaged record) of a capture, in order."""
    lines = text.split("\n")
    tail = lines.pop()  # text after the last "\n": "" when the text ends with a newline
    for number, line in enumerate(lines, 1):
        yield from scan_line(number, line)
    if tail:
        yield from scan_line(len(lines) + 1, tail, last=True)


def line_count(text: str) -> int:
    """Physical lines, as `scan` numbers them (a last line without "\\n" counts)."""
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)
