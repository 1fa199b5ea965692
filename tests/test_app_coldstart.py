"""Cold start (#32): each page runs on its own, in a fresh session where the entry script never ran.

For 2-18 s after `make run` Streamlit showed the old `pages/` folder's files as its automatic navigation and
ran a clicked file directly, without `app.py`: five clicks in six crashed on ``st.session_state["settings"]``.
A page must build what it needs itself; the browser side is in test_browser_coldstart.py."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
TITLES = {"verify.py": "Verify an image or video", "batch.py": "Batch", "cases.py": "Case log", "shadows.py": "Sun and shadows",
          "model.py": "Model"}


def test_no_pages_folder_beside_the_entry_script():
    """A folder named ``pages`` beside app.py switches on Streamlit's legacy multipage mode: until some session's
    app.py has called ``st.navigation``, every session gets the folder's raw file names as navigation, and a
    click runs that file without app.py (streamlit/runtime/scriptrunner/script_runner.py, ``_mpa_v1``)."""
    assert not (ROOT / "pages").exists()
    assert sorted(p.name for p in (ROOT / "app_pages").glob("*.py")) == sorted(TITLES)


@pytest.mark.parametrize("page", sorted(TITLES))
def test_a_page_runs_on_its_own_in_a_fresh_session(data_dir, page):
    at = AppTest.from_file(str(ROOT / "app_pages" / page), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.title[0].value == TITLES[page]
    assert {"case_select", "model_path_input", "second_model_path_input"} <= {w.key for w in at.sidebar.get("selectbox")
                                                                             } | {w.key for w in at.sidebar.text_input}


def test_a_page_on_its_own_sees_each_runs_sidebar_not_the_first_ones(data_dir, tmp_path):
    """Settings built by the page itself are rebuilt every run: a changed sidebar value is in force at once."""
    at = AppTest.from_file(str(ROOT / "app_pages" / "model.py"), default_timeout=TIMEOUT).run()
    assert not at.exception and not at.error
    at.session_state["model_path_input"] = str(tmp_path / "no-such-model")
    at.run()
    assert not at.exception
    assert any("model folder not found" in e.value for e in at.error)


def test_a_cold_first_run_without_a_model_imports_nothing_heavy(data_dir):
    """The first session's first run (the Verify page, no model) waited for torch, folium, pandas and fpdf to be
    imported (3-7 s on 2 shared cores) before its uploader appeared; each now loads when first used: a model asked
    for, a map drawn, a table or a report made. A fresh interpreter, as on a server that has just started."""
    import subprocess
    import sys

    script = ("import sys\n"
              "from streamlit.testing.v1 import AppTest\n"
              f"at = AppTest.from_file({str(ROOT / 'app.py')!r}, default_timeout={TIMEOUT}).run()\n"
              "assert not at.exception, at.exception\n"
              "assert [u.label for u in at.get('file_uploader')] == ['Image or video']\n"
              "print(sorted(m for m in ('torch', 'transformers', 'folium', 'streamlit_folium', 'pandas', 'fpdf')"
              " if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
