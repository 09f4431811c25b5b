"""What makes an activity's content acceptable, shared by the client and the importer.

It imports nothing, so the CLI can reject a blank note before it loads httpx.
"""

from __future__ import annotations

__all__ = ["WHITESPACE", "is_blank"]

#: Whitespace by Python's and by JavaScript's definition alike (the two differ on
#: U+FEFF, U+001C-U+001F and U+0085). openapi.yaml's ``content`` pattern excludes
#: exactly these characters, so the sandbox (Python) and Prism (JavaScript) agree.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def is_blank(content: str) -> bool:
    """True when ``content`` has no character that is not whitespace.

    >>> is_blank(" \\t\\ufeff\\n")
    True
    >>> is_blank(" x ")
    False
    """
    return not content.strip(WHITESPACE)
