"""The counters a background pass keeps while its deliveries run on several threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Lock


@dataclass
class PassReport:
    """Thread-safe counters plus error notes; subclasses add the counters they keep."""

    errors: list[str] = field(default_factory=list, kw_only=True)
    _lock: Lock = field(default_factory=Lock, repr=False, kw_only=True)

    def add(self, **counts: int) -> None:
        """Add to several counters at once, safely from any delivery thread."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def note(self, error: str) -> None:
        with self._lock:
            self.errors.append(error)
