"""Row ids as they arrive from outside (global ids, token subjects)."""

from __future__ import annotations

MAX_ROW_ID = 2**31  # ids are 32-bit integers in the sources' databases


def row_id(text: str) -> int | None:
    """The canonical decimal form of a row id, else None: "01" or a non-ASCII digit must
    not alias row 1, and a huge number must not reach a database driver."""
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text.startswith("0")):
        return None
    value = int(text)
    return value if value < MAX_ROW_ID else None
