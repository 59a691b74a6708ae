"""Controllers of the internal API: translate a request into one use case call and its result back."""

from __future__ import annotations

from typing import Any

CONTROLLERS: list[Any] = []
