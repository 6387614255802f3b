"""The nbval sanitizer: it must hide what varies (times, rates, addresses) and nothing else.

Read with configparser, as nbval reads it, and applied the way nbval applies it (each regex in
turn, ``re.sub``), so a regex that eats model names ("FCN-8s" read as a duration) fails here.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

CFG = Path(__file__).with_name("nbval_sanitize.cfg")


def sanitize(text: str) -> str:
    parser = configparser.ConfigParser()
    parser.read(CFG)
    for section in parser.sections():
        text = re.sub(parser.get(section, "regex"), parser.get(section, "replace"), text)
    return text


@pytest.mark.parametrize("text", [
    "FCN-8s", "FCN-32s and FCN-16s", "models.FCN(21, '8s')", "after 5 epochs: mIoU 0.50",
    "ResNet-18", "U-Net 3.5x faster", "variant=\"16s\"",
])
def test_names_and_numbers_are_left_alone(text):
    assert sanitize(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("51.8 s", "DURATION"), ("took 12 ms", "took DURATION"), ("(~48 s)", "(~DURATION)"),
    ("in 3 seconds", "in DURATION"), ("12.5it/s", "RATE"), ("3.2s/it", "RATE"),
    ("object at 0x7f3a9c2b10", "object at 0xADDRESS"),
])
def test_volatile_text_is_replaced(text, expected):
    assert sanitize(text) == expected
