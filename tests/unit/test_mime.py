"""Quoted-printable of personalised text, piece by piece: what a decoder reads back is the text."""

from __future__ import annotations

import binascii
import random

import pytest

from channels.base import Pieces
from channels.mime import _qp

ALPHABET = "ab .=\t\n\r\nédé£😀<>&" + "x" * 10


def decode(encoded: bytes) -> str:
    return binascii.a2b_qp(encoded.replace(b"\r\n", b"\n")).decode()


@pytest.mark.parametrize("seed", range(200))
def test_pieces_encode_to_what_the_whole_text_encodes_to_once_decoded(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 120))) for _ in range(rng.randint(1, 6))]
    text = Pieces(pieces)
    encoded = _qp(text)
    assert decode(encoded) == decode(_qp(str(text)))  # the same words as encoding it whole
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n")), "no line over the QP limit"


def test_a_repeated_piece_is_encoded_once() -> None:
    from channels.mime import _qp_piece

    static = "<p>" + "Prevent " * 500 + "</p>\n"
    _qp_piece.cache_clear()
    for name in ("Mrs Patel", "Mr Jones", "Dr Okafor"):
        _qp(Pieces([static, name, static]))
    info = _qp_piece.cache_info()
    assert info.hits == 5 and info.misses == 4
