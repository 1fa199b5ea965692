"""Explicit, resumable, verified downloads from the Hugging Face hub (checkpoints and data sets).

Why this module exists: geoloc is offline by default; fetching a checkpoint is the one
deliberate online action, so it must say where it goes and how much it brings *before*
anything is downloaded, survive interruptions, and prove that what arrived is what the
hub holds. ``huggingface_hub`` (the hub's own client) lists the repository and does the transfer
(``http_get``: retries, redirects to the CDN, HTTP range requests). Since version 1.x its
``hf_hub_download`` discards a partial file when the process stops, so this module keeps
partial files itself (``DIR/.geoloc-partial``) and hands their size to ``http_get`` as the
resume point. It also adds what the client leaves to the caller:

* a plan first (``plan_fetch``): the files, their total size, the host and the commit,
  so the CLI can print it and the app can ask for confirmation naming host and size;
* one weight format only (safetensors when the repository has it), so a checkpoint
  published as PyTorch, TensorFlow and Flax weights is not fetched three times;
* verification of every file against the hub's listing: SHA-256 for LFS files
  (weights, archives), the git blob hash for small files; a mismatch deletes the file;
* offline refusal at once (``HF_HUB_OFFLINE=1``, or the host unreachable) with a clear
  message instead of a traceback.

The host is ``HF_ENDPOINT`` (default https://huggingface.co), read at call time so tests
can point it at a server on 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_S = 15.0
# The small files geoloc reads, by name (#31): a repository's other files never arrive. Its own
# zeroshot.json (a recipe that could name tables by URL) is one of them: a recipe is the analyst's file.
NEEDED_FILES = ("config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
                "special_tokens_map.json", "vocab.json", "merges.txt", "model.safetensors.index.json",
                "pytorch_model.bin.index.json", "README.md", "LICENSE", "LICENSE.md", "LICENSE.txt")


class FetchError(RuntimeError):
    """The download cannot start or did not complete; the message says why and what to do."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # LFS files
    blob_id: str | None  # git blob hash of non-LFS files


@dataclass
class FetchPlan:
    repo_id: str
    repo_type: str  # "model" | "dataset"
    endpoint: str
    revision: str
    commit: str
    files: list[RemoteFile] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def host(self) -> str:
        from urllib.parse import urlparse

        return urlparse(self.endpoint).netloc or self.endpoint

    def describe(self) -> str:
        return (f"{self.repo_id} ({self.repo_type}, revision {self.revision}, commit {self.commit[:12]}) from "
                f"{self.endpoint}: {len(self.files)} files, {human_bytes(self.total_bytes)}")


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1000
    return f"{n:.2f} TB"  # pragma: no cover


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _only_the_hub_asked() -> None:
    """huggingface_hub 1.x+ builds its User-Agent by fetching an "agent harnesses" list from the endpoint it read
    at import time (huggingface.co, whatever ``HF_ENDPOINT`` says now): one more request, to a host the analyst
    may not have chosen (#32: seen asking huggingface.co while the app used the loopback hub). Its telemetry
    switch, read at call time, turns that off; nothing geoloc needs is in the User-Agent."""
    from huggingface_hub import constants

    constants.HF_HUB_DISABLE_TELEMETRY = True


def _offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _explain(exc: Exception, what: str, host: str) -> FetchError:
    """One sentence for each way a hub request fails; never a traceback."""
    from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, OfflineModeIsEnabled,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    if isinstance(exc, OfflineModeIsEnabled):
        return FetchError(f"offline mode is on (HF_HUB_OFFLINE): {what} was not fetched. Unset it to download.")
    if isinstance(exc, GatedRepoError):
        return FetchError(f"{what} is gated on {host}: accept its terms on the hub and log in "
                          "(huggingface-cli login) first")
    if isinstance(exc, RepositoryNotFoundError):
        return FetchError(f"{what} was not found on {host} (check the spelling, e.g. openai/clip-vit-large-patch14; "
                          "a private repository needs a token)")
    if isinstance(exc, RevisionNotFoundError):
        return FetchError(f"{what}: no such revision on {host}")
    if isinstance(exc, HfHubHTTPError):
        return FetchError(f"{host} refused {what}: {str(exc).splitlines()[0][:200]}")
    return FetchError(f"cannot reach {host} to fetch {what} ({type(exc).__name__}: {str(exc)[:160]}). "
                      "This machine may be offline: fetch on a connected machine and copy the folder here.")


def plan_fetch(repo_id: str, revision: str | None = None, repo_type: str = "model",
               select: Callable[[list[RemoteFile]], list[RemoteFile]] | None = None) -> FetchPlan:
    """Ask the hub what ``repo_id`` holds (one small request) and choose the files to fetch."""
    from huggingface_hub import HfApi

    from urllib.parse import urlparse

    url = endpoint()
    host = urlparse(url).netloc or url
    what = f"{repo_type} {repo_id!r}"
    if _offline():
        raise FetchError(f"offline mode is on (HF_HUB_OFFLINE): {what} was not fetched. Unset it to download.")
    _only_the_hub_asked()
    api = HfApi(endpoint=url)
    try:
        if repo_type == "dataset":
            info = api.dataset_info(repo_id, revision=revision, files_metadata=True, timeout=TIMEOUT_S)
        else:
            info = api.model_info(repo_id, revision=revision, files_metadata=True, timeout=TIMEOUT_S)
    except Exception as exc:  # every failure becomes one clear sentence
        raise _explain(exc, what, host) from None
    files = [RemoteFile(s.rfilename, int(s.lfs.size if s.lfs else (s.size or 0)),
                     s.lfs.sha256 if s.lfs else None, s.blob_id) for s in (info.siblings or [])]
    chosen = (select or select_checkpoint_files)(files)
    if not chosen:
        raise FetchError(f"{what} on {host} has no files geoloc can use")
    return FetchPlan(repo_id, repo_type, url, revision or "main", info.sha or revision or "main", chosen)


def select_checkpoint_files(files: list[RemoteFile]) -> list[RemoteFile]:
    """The top-level files of ``NEEDED_FILES`` (config, tokenizer, preprocessing, licence/readme), and the weights
    in one format: safetensors when the repository has them, else PyTorch's ``pytorch_model*.bin`` (never
    TensorFlow, Flax or ONNX copies, and no other JSON: a repository's ``zeroshot.json`` is not fetched)."""
    top = [f for f in files if "/" not in f.path and not f.path.startswith(".")]
    if any(f.path.endswith(".safetensors") for f in top):
        weights = [f for f in top if f.path.endswith(".safetensors")]
    else:
        weights = [f for f in top if f.path.startswith("pytorch_model") and f.path.endswith(".bin")]
    return [f for f in top if f.path in NEEDED_FILES] + weights


def _verify(path: Path, remote: RemoteFile) -> str | None:
    """None if the file is what the hub lists, else why not."""
    size = path.stat().st_size
    if size != remote.size:
        return f"size {size} instead of {remote.size}"
    if remote.sha256:
        digest = hashlib.sha256()
        expected = remote.sha256
    elif remote.blob_id:
        digest = hashlib.sha1(f"blob {size}\0".encode())  # git's object hash of a non-LFS file
        expected = remote.blob_id
    else:
        return None  # the listing gave no hash; the size matched
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return None if digest.hexdigest() == expected else f"hash {digest.hexdigest()[:16]}... instead of {expected[:16]}..."


PARTIAL_DIR = ".geoloc-partial"  # interrupted files wait here, inside the target folder, to be resumed


def missing_bytes(plan: FetchPlan, to: str | Path, files: Iterable[RemoteFile] | None = None) -> int:
    """Bytes still to download: complete files already in ``to`` are not fetched again, and partial ones
    only from where they stopped."""
    to = Path(to)
    total = 0
    for f in plan.files if files is None else files:
        if (to / f.path).is_file() and (to / f.path).stat().st_size == f.size:
            continue
        partial = to / PARTIAL_DIR / f"{f.path}.part"
        done = partial.stat().st_size if partial.is_file() else 0
        total += f.size - done if done <= f.size else f.size
    return total


def download(plan: FetchPlan, to: str | Path, say: Callable[[str], None] = print,
             files: Iterable[RemoteFile] | None = None) -> Path:
    """Fetch the plan's files (or ``files`` of it) into ``to`` and verify each. A file is written to
    ``to/.geoloc-partial/PATH.part`` and moved into place only once verified; an interrupted run leaves the
    part behind and the next run continues it with an HTTP range request (huggingface_hub's ``http_get``)."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    to = Path(to).expanduser()
    to.mkdir(parents=True, exist_ok=True)
    files = list(plan.files if files is None else files)
    needed = missing_bytes(plan, to, files)
    free = shutil.disk_usage(to).free
    if needed > free:
        raise FetchError(f"{human_bytes(needed)} still to download but only {human_bytes(free)} free on {to}")
    _only_the_hub_asked()
    headers = build_hf_headers()
    for remote in files:
        target = to / remote.path
        if target.is_file() and _verify(target, remote) is None:
            continue  # complete and verified earlier
        partial = to / PARTIAL_DIR / f"{remote.path}.part"
        partial.parent.mkdir(parents=True, exist_ok=True)
        done = partial.stat().st_size if partial.is_file() else 0
        if done > remote.size:
            partial.unlink()
            done = 0
        url = hf_hub_url(plan.repo_id, remote.path, repo_type=plan.repo_type, revision=plan.commit,
                         endpoint=plan.endpoint)
        try:
            with partial.open("ab") as handle:
                http_get(url, handle, resume_size=done, headers=headers, expected_size=remote.size,
                         displayed_filename=remote.path)
        except Exception as exc:
            raise _explain(exc, f"{plan.repo_id}/{remote.path}", plan.host) from None
        problem = _verify(partial, remote)
        if problem:
            partial.unlink(missing_ok=True)
            raise FetchError(f"{remote.path} arrived damaged ({problem}) and was deleted: run the command again")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, target)
    shutil.rmtree(to / PARTIAL_DIR, ignore_errors=True)
    say(f"verified {len(files)} files ({human_bytes(sum(f.size for f in files))}) in {to}")
    return to


def fetch_model(repo_id: str, to: str | Path, revision: str | None = None,
                say: Callable[[str], None] = print) -> Path:
    """The ``python -m geoloc_core fetch`` command: plan, print the size, download, verify, say how to use it."""
    plan = plan_fetch(repo_id, revision)
    still = missing_bytes(plan, to)
    say(f"fetching {plan.describe()}; {human_bytes(still)} still to download into {to}")
    folder = download(plan, to, say)
    say(usage_hint(folder))
    return folder


def usage_hint(folder: Path) -> str:
    """How to use what was fetched, by what the folder holds."""
    import json

    try:
        model_type = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        model_type = None
    if model_type == "clip":
        return (f"a full CLIP checkpoint: it predicts zero-shot. Use it with\n  GEOLOC_MODEL={folder} make run\n"
                f"  python -m geoloc_core scan photos/ --model {folder} --out findings.csv\n"
                f"or train a regressor on it as the backbone (training/README.md: model.backbone: {folder})")
    if model_type == "geolocator":
        return f"a trained geoloc model. Use it with\n  GEOLOC_MODEL={folder} make run"
    return (f"a {model_type or 'non-CLIP'} checkpoint: geoloc predicts with a full CLIP checkpoint or a trained geoloc "
            f"model; to train on this backbone see training/README.md (model.backbone: {folder})")


def run_download_command(download: Callable[[Callable[[str], None]], object]) -> tuple[int, object]:
    """Run one download for a command line: progress lines to stderr, a ``FetchError`` as one
    ``error:`` line (exit 2) and Ctrl-C as a hint to resume (exit 130), never a traceback.

    Shared by ``python -m geoloc_core fetch`` and ``python -m training.fetch_data`` so both commands
    speak to the analyst the same way. Returns ``(exit_code, what download returned or None)``.
    """
    import sys

    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    try:
        return 0, download(say)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2, None
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130, None
