"""Damage for the report tool's robustness tests: capture accidents (mutate, used by
test_robustness.py) and hostile edits (hostile, used by test_mutation_fuzz.py on top of them:
bit flips, truncation, shuffled lines, huge numbers, deep nesting, surrogates, invalid UTF-8).
Deterministic for a given random.Random."""

from __future__ import annotations

import random


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random capture accident (or several)."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(8)
        at = rng.randrange(len(b) or 1)
        if op == 0:  # line noise: random bytes
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif op == 1:  # lost bytes (UART overrun)
            del b[at:at + rng.randint(1, 200)]
        elif op == 2:  # capture stops
            del b[at:]
        elif op == 3:  # a digit turns into a letter or a quote
            digits = [i for i in range(at, min(len(b), at + 2000)) if 48 <= b[i] <= 57]
            for i in digits[: rng.randint(1, 5)]:
                b[i] = rng.choice(b'x"-.{}[]')
        elif op == 4:  # lines duplicated or swapped
            lines = bytes(b).split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            lines.insert(i, lines[j])
            b = bytearray(b"\n".join(lines))
        elif op == 5:  # a value replaced by something of another JSON type
            text = bytes(b)
            k = text.find(b'":', at)
            if k > 0:
                end = min(x for x in (text.find(b",", k), text.find(b"}", k), len(text))
                          if x >= 0)
                b[k + 2:end] = rng.choice([b'"abc"', b"null", b"[]", b"{}", b"true", b"-1e999",
                                           b"1e400", b"12345678901234567890123"])
        elif op == 6:  # a reset: everything after a point repeated from the start
            b[at:at] = data[: rng.randrange(len(data))]
        else:  # CR/LF chaos
            b = bytearray(bytes(b).replace(b"\r\n", rng.choice([b"\n", b"\r", b"\n\r", b"\r\r\n"])))
    return bytes(b)



_HUGE = [b"1" * 400, b"-" + b"9" * 5000, b"1e309", b"-1e-400", b"1" * 20 + b".5e308", b"NaN",
         b"Infinity", b"-0", b"18446744073709551616", b"0x10"]
_STRINGS = [b'"\\ud800"', b'"\\udfff x"', b'"\\ud83d\\ude00"', b'"\xed\xa0\x80"', b'"\xff\xfe"',
            b'"\\u0000"', b'"' + b"A" * 100000 + b'"', b'"\\"', b'"PTIBENCH {\\"type\\":\\"env\\"}"',
            b'"\x1b[2J\r"']


def _value_span(b: bytes, at: int) -> tuple[int, int] | None:
    """Where the JSON value after the first `":` from `at` is (up to the next , or })."""
    k = b.find(b'":', at)
    if k < 0:
        return None
    ends = [x for x in (b.find(b",", k), b.find(b"}", k)) if x >= 0]
    return k + 2, min(ends) if ends else len(b)


def hostile(data: bytes, rng: random.Random) -> bytes:
    """A few hostile edits (and sometimes capture accidents too)."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(10)
        at = rng.randrange(len(b) or 1)
        if op == 0:  # bit flips
            for _ in range(rng.randint(1, 8)):
                if b:
                    i = rng.randrange(len(b))
                    b[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # truncation, anywhere (inside a record, a multi-byte character, ...)
            del b[at:]
        elif op == 2:  # lines shuffled
            lines = bytes(b).split(b"\n")
            rng.shuffle(lines)
            b = bytearray(b"\n".join(lines))
        elif op == 3:  # a number replaced by a huge or odd one
            span = _value_span(bytes(b), at)
            if span:
                b[span[0]:span[1]] = rng.choice(_HUGE)
        elif op == 4:  # a value replaced by deep nesting
            span = _value_span(bytes(b), at)
            if span:
                depth = rng.choice([50, 999, 1001, 5000, 100000])
                opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
                b[span[0]:span[1]] = opener * depth + b"1" + closer * rng.choice([depth, depth - 1, 0])
        elif op == 5:  # a string value replaced by surrogates, NUL, invalid UTF-8, a huge one
            k = bytes(b).find(b'":"', at)
            if k >= 0:
                end = bytes(b).find(b'"', k + 3)
                if end > 0:
                    b[k + 2:end + 1] = rng.choice(_STRINGS)
        elif op == 6:  # raw bytes that are not UTF-8 or not printable
            b[at:at] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00" * 3, b"\r", b"\x1b[",
                                   bytes(rng.randrange(256) for _ in range(16))])
        elif op == 7:  # a record's type, name or status changed
            k = bytes(b).find(rng.choice([b'"type":"', b'"name":"', b'"status":"']), at)
            if k >= 0:
                start = bytes(b).index(b':"', k) + 2
                end = bytes(b).find(b'"', start)
                if end > 0:
                    b[start:end] = rng.choice([b"env", b"summary", b"result", b"fault", b"x",
                                               b"", b"ok", b"fail", b"skip", b"cr3.read"])
        elif op == 8:  # one line repeated many times (a stuck UART, a duplicated record)
            lines = bytes(b).split(b"\n")
            i = rng.randrange(len(lines))
            lines[i:i] = [lines[i]] * rng.randint(2, 200)
            b = bytearray(b"\n".join(lines))
        else:
            b = bytearray(mutate(bytes(b), rng))
    return bytes(b)
