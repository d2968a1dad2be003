from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data" / "wordpress"


def fixture_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()
