"""Where the analyst left off: the current case and model, kept between sessions.

Why: a reload or a new browser tab starts a fresh Streamlit session. Without a memory
outside the session it fell back to the newest case and an empty model path, and
findings were saved to a case the analyst never chose. The app keeps the choice in
two places: the page's URL (``?case=3&model=...``, so a bookmark or a second tab opened
from it resumes exactly that case) and this small JSON file beside the case log (so a
tab opened from scratch resumes the last choice). The URL wins when both are present.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ...evidence.private_files import write_private

WORKSPACE_FILE = "settings.json"


@dataclass
class Workspace:
    case_id: int | None = None
    model_path: str | None = None  # None: never chosen (the GEOLOC_MODEL default applies)


def workspace_path(data_dir: str | Path, email: str = "") -> Path:
    """The saved choice's file; on a team server (#36) one per analyst (``email``, the login's), named by a hash
    of it: one analyst's choice never moves another's new tab, nor tells them which case ids exist."""
    if not email.strip():
        return Path(data_dir) / WORKSPACE_FILE
    return Path(data_dir) / f"settings-{hashlib.sha256(email.strip().lower().encode('utf-8')).hexdigest()[:16]}.json"


def load_workspace(path: str | Path) -> Workspace:
    """The saved choice; a missing or unreadable file is simply no choice yet."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Workspace()
    if not isinstance(data, dict):
        return Workspace()
    case_id = data.get("case_id")
    model_path = data.get("model_path")
    return Workspace(case_id if isinstance(case_id, int) and not isinstance(case_id, bool) else None,
                     model_path if isinstance(model_path, str) else None)


def save_workspace(path: str | Path, workspace: Workspace) -> None:
    """Atomic replace, so two tabs writing at once never leave a half-written file; owner-only like the case
    log beside it (0600 in a 0700 folder): it names the analyst's case and model."""
    write_private(path, json.dumps(asdict(workspace)).encode("utf-8"))


def resolve_workspace(query: dict[str, str], saved: Workspace, case_ids: list[int],
                      default_model: str = "") -> Workspace:
    """The case and model a new session starts with: the URL's, else the saved ones, else
    the newest case and ``default_model``. A case id that no longer exists is ignored."""
    case_id = None
    raw = query.get("case", "")
    if raw.isdigit() and int(raw) in case_ids:
        case_id = int(raw)
    elif saved.case_id in case_ids:
        case_id = saved.case_id
    elif case_ids:
        case_id = case_ids[0]
    if "model" in query:
        model_path = query["model"]
    elif saved.model_path is not None:
        model_path = saved.model_path
    else:
        model_path = default_model
    return Workspace(case_id, model_path)
