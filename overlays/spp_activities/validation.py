"""What the API accepts, checked before anything is sent: a client ID written as
text, and content that is not blank. Shared by the client, the CLI and the importer.

It imports nothing, so the CLI can reject bad input before it loads httpx.
"""

from __future__ import annotations

import re

__all__ = ["WHITESPACE", "is_blank", "parse_whole_number"]

#: Whitespace by Python's and by JavaScript's definition alike (the two differ on
#: U+FEFF, U+001C-U+001F and U+0085). openapi.yaml's ``content`` pattern excludes
#: exactly these characters, so the sandbox (Python) and Prism (JavaScript) agree.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)

_WHOLE_NUMBER = re.compile(r"[0-9]+")


def is_blank(content: str) -> bool:
    """True when ``content`` has no character that is not whitespace.

    >>> is_blank(" \\t\\ufeff\\n")
    True
    >>> is_blank(" x ")
    False
    """
    return not content.strip(WHITESPACE)


def parse_whole_number(text: str) -> int | None:
    """ASCII digits (spaces around allowed) making a number >= 1, else None.

    ``int()`` would also read '1_0' as 10 and other scripts' digits.

    >>> parse_whole_number(" 42 "), parse_whole_number("0"), parse_whole_number("1_0")
    (42, None, None)
    """
    text = text.strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        return None
    try:
        value = int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return None
    return value if value >= 1 else None
