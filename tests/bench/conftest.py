"""`bench` is a top-level folder, not an installed package: make it importable when pytest runs from anywhere."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)
