"""Keyed lookup hashes: exact-match search over values that are stored sealed.

A digest is HMAC-SHA256 under one lookup key, over a kind and a normalised value.
The lookup key is held like a data key (wrapped by the wrapping key, re-wrapped by
rotation) under a reserved subject id. Without the key a digest reveals nothing
about the value; with the database alone, equal digests only show equal values.
Digests belong in mutable tables that erasure deletes, never in events.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from uuid import UUID

from crypto_shredding.data_keys import DataKeys

LOOKUP_KEY_SUBJECT = UUID("00000000-0000-4000-8000-00000000100c")
"""The reserved subject id whose data key is the lookup key; never a person."""

# Letters that Unicode does not decompose into a base letter and a mark.
_UNDECOMPOSED = str.maketrans({"đ": "d", "Đ": "d", "ø": "o", "ł": "l", "ß": "ss"})
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Case- and diacritic-insensitive form: "Nguyễn Thị" and "nguyen thi" agree."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def words(text: str) -> list[str]:
    """The distinct folded words of a text, in order."""
    return list(dict.fromkeys(_WORD.findall(fold(text))))


class KeyedHashes:
    """Computes lookup digests with the deployment's lookup key."""

    def __init__(self, data_keys: DataKeys) -> None:
        self.data_keys = data_keys

    def digest(self, kind: str, normalised: str) -> str:
        """The hex HMAC-SHA256 of `normalised` for lookups of `kind`."""
        lookup_key = self.data_keys.for_writing(LOOKUP_KEY_SUBJECT)
        message = kind.encode() + b"\x00" + normalised.encode()
        return hmac.new(lookup_key, message, hashlib.sha256).hexdigest()

    def word_digests(self, kind: str, text: str) -> list[str]:
        return [self.digest(kind, word) for word in words(text)]
