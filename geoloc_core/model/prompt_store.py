"""Prompt embeddings kept on disk one group at a time, filled as images need them (issue #29).

Why groups: a zero-shot answer needs every country prompt (about 250) but only the regions of the few
countries its hierarchy refines and the cities of the few regions it refines there, a few hundred of the
~38,000 prompts. Embedding all of them before the first answer took 65 min (ViT-B/32) to 5 h (ViT-L/14)
on a 2-core CPU. So the unit of work and of storage is one *group*: the countries, the regions of one
country, the cities of one region (or of one country, in StreetCLIP's own country -> city recipe). A
group is embedded the first time an image's hierarchy reaches it, always as the same one call of the
text tower over the same texts, so an embedding made by a cold start, a warm start or the background
warm-up is the same bits: the answer for an image does not depend on which of them made it.

Files: one safetensors file per group under ``<cache>/zeroshot/<checkpoint key>/``, named by a hash of
the group's texts, written atomically and owner-only (``write_private``: a killed warm-up leaves whole
files or none). Each carries the checkpoint's identity, the SHA-256 of its texts and of its own table
and is used only when all three match (issue #31: a name proves nothing; swapped rows of the same shape
moved a prediction to another country). Anything else is recomputed and counted in ``problems``.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..evidence.private_files import write_private

STORE_FORMAT = "4"  # 3: one file of every prompt; 4: one file per group of prompts


def texts_digest(texts: Sequence[str]) -> str:
    """SHA-256 of a group's texts in order (one text per line; a text cannot hold the separator's meaning)."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()


def table_digest(table: np.ndarray) -> str:
    """SHA-256 of an embedding table: its dtype, shape and bytes."""
    table = np.ascontiguousarray(table)
    digest = hashlib.sha256(f"{table.dtype}:{table.shape}\n".encode())
    digest.update(table.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class PromptGroup:
    """Prompts embedded and stored together: ``label`` says what they are to an analyst ("regions of France")."""

    label: str
    texts: tuple[str, ...]

    @cached_property
    def digest(self) -> str:  # computed once: every image of a batch asks for its groups by it
        return texts_digest(self.texts)


@dataclass
class StoreCounts:
    """What the store did since it was opened: groups read from disk, embedded, and why a file was not used."""

    loaded: int = 0
    computed: int = 0
    prompts_computed: int = 0
    seconds_computing: float = 0.0
    problems: Counter = field(default_factory=Counter)


class PromptStore:
    """The prompt embeddings of one checkpoint: in memory once used, on disk for every later start.

    ``embed`` is the text tower (texts -> unit-length float32 rows); it is called with one group's texts at
    a time and nothing else, which is what makes every path give the same bits."""

    def __init__(self, root: Path, checkpoint_id: str, embed: Callable[[Sequence[str]], np.ndarray]):
        key = hashlib.sha256(json.dumps({"checkpoint": checkpoint_id, "format": STORE_FORMAT}).encode())
        self.folder = Path(root) / "zeroshot" / key.hexdigest()[:32]
        self.checkpoint_id = checkpoint_id
        self._embed = embed
        self._tables: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.counts = StoreCounts()

    def path_for(self, group: PromptGroup) -> Path:
        return self.folder / f"{group.digest[:40]}.safetensors"

    def in_memory(self, group: PromptGroup) -> bool:
        return group.digest in self._tables

    def on_disk(self, group: PromptGroup) -> bool:
        """Whether a file for this group exists (not yet whether it is valid: ``table`` checks that)."""
        return self.path_for(group).is_file()

    def ready(self, group: PromptGroup) -> bool:
        return self.in_memory(group) or self.on_disk(group)

    def table(self, group: PromptGroup, before_compute: Callable[[PromptGroup], None] | None = None) -> np.ndarray:
        """The group's embeddings: from memory, else from its valid file, else embedded now (then kept in memory
        and written to disk). ``before_compute`` is told just before the text tower runs (progress)."""
        digest = group.digest
        table = self._tables.get(digest)
        if table is not None:
            return table
        table = self._read(group)
        if table is None:
            if before_compute is not None:
                before_compute(group)
            import time

            start = time.perf_counter()
            table = np.ascontiguousarray(self._embed(list(group.texts)), dtype=np.float32)
            with self._lock:
                self.counts.computed += 1
                self.counts.prompts_computed += len(group.texts)
                self.counts.seconds_computing += time.perf_counter() - start
            self._write(group, table)
        else:
            with self._lock:
                self.counts.loaded += 1
        with self._lock:
            self._tables.setdefault(digest, table)
            return self._tables[digest]

    def _read(self, group: PromptGroup) -> np.ndarray | None:
        from safetensors import SafetensorError, safe_open

        path = self.path_for(group)
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), "np") as handle:
                metadata = handle.metadata() or {}
                names = list(handle.keys())
                table = handle.get_tensor("embeddings") if names == ["embeddings"] else None
        except (SafetensorError, OSError, ValueError, RuntimeError):
            return self._problem("a file could not be read")
        if metadata.get("checkpoint") != self.checkpoint_id or metadata.get("format") != STORE_FORMAT:
            return self._problem("a file was written for another checkpoint")
        if metadata.get("prompts") != group.digest:
            return self._problem("a file holds other prompts")
        if table is None or table.ndim != 2 or table.shape[0] != len(group.texts) or table.dtype != np.float32:
            return self._problem("a file's table does not fit its prompts")
        if metadata.get("content") != table_digest(table):
            return self._problem("a file's content does not match its content hash (changed after it was written)")
        return table

    def _problem(self, reason: str) -> None:
        with self._lock:
            self.counts.problems[reason] += 1
        return None

    def _write(self, group: PromptGroup, table: np.ndarray) -> None:
        from safetensors.numpy import save

        metadata = {"checkpoint": self.checkpoint_id, "format": STORE_FORMAT, "prompts": group.digest,
                    "content": table_digest(table), "label": group.label}
        try:  # owner-only, atomic: a reader (or a restart after a kill) sees the whole file or none
            write_private(self.path_for(group), save({"embeddings": table}, metadata=metadata))
        except OSError:
            pass  # a read-only cache folder costs time on the next start, not correctness

    def status(self) -> str:
        """One line for the Model page: how the embeddings in use came."""
        counts = self.counts
        parts = [f"{counts.loaded:,} groups read from the cache", f"{counts.computed:,} embedded "
                 f"({counts.prompts_computed:,} prompts)"]
        parts += [f"{n} x {reason}, recomputed" for reason, n in sorted(counts.problems.items())]
        return "; ".join(parts)
