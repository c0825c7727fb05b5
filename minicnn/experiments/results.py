"""The results store: one JSON line per finished (model, seed) run, appended whole.

A line is written with a single ``write`` on a file opened for appending, then fsynced, so a
run killed midway leaves either the whole line or nothing. Lines that do not parse are skipped
with a warning naming them; nothing is ever deleted: ``--fresh`` moves the old file aside.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def run_key(spec: dict[str, Any]) -> str:
    """A stable hash of everything that determines a run's result."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class ResultsStore:
    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    MIN_FREE_BYTES = 1 << 20

    def check_writable(self) -> None:
        """Fail before any training if the results cannot be written (or the disk is full)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
            free = os.statvfs(self.path.parent).f_bavail * os.statvfs(self.path.parent).f_frsize
        except OSError as e:
            raise PermissionError(f"cannot write results to {self.path}: {e.strerror}") from None
        if free < self.MIN_FREE_BYTES:
            raise PermissionError(
                f"cannot write results to {self.path}: only {free} bytes free on its disk"
            )

    def load(self) -> dict[str, dict[str, Any]]:
        """Every complete record by key; corrupt lines are skipped with a warning."""
        records: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return records
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    key = record["key"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    print(
                        f"warning: {self.path}:{number}: skipping a line that is not a complete "
                        "result record (it is kept in the file)",
                        file=sys.stderr,
                    )
                    continue
                records[key] = record
        return records

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size and not self._ends_with_newline():
                # A torn line from a killed writer: start ours on a fresh line.
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def start_fresh(self) -> Path | None:
        """Move the current file aside (never delete it); returns where it went."""
        if not self.path.exists():
            return None
        aside = self.path.with_name(f"{self.path.name}.{time.strftime('%Y%m%d-%H%M%S')}.old")
        os.replace(self.path, aside)
        return aside
