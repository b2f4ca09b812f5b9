"""pareto.html in a real browser: headless Chromium (Debian's `chromium`, installed by
.ci/run) opens the page with every host unreachable, plotly draws every trial's point, and
the page logs nothing to its console (no error, no warning)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import OBJECTIVES, trial_table

from codesign.report import FRONT_DIV, build_panels, write_pareto_html

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)
COSTS = OBJECTIVES + ["bitfusion.latency_s:min"]


def render(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The page's DOM once its scripts ran, and what it logged to its console."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--no-default-browser-check", f"--user-data-dir={profile}",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: the page must carry its script
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
         "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


def points_drawn(dom: str) -> int:
    """Scatter points plotly drew in the front's plot (not in the per-layer figure)."""
    start = dom.index(f'id="{FRONT_DIV}"')
    return len(re.findall(r'class="point"', dom[start:dom.index('id="per-layer"', start)]))


def test_the_page_draws_every_point_offline_and_logs_nothing(tmp_path):
    df = trial_table()
    page = write_pareto_html(df, COSTS, tmp_path / "pareto.html", title="digits",
                             float_accuracy=0.97, budgets={"generic.bops": 8.0})
    assert "<script src=" not in page.read_text(encoding="utf-8")
    dom, console = render(page, tmp_path / "profile")
    assert console == []
    expected = sum(len(p.dominated) + len(p.front) + len(p.knee) + len(p.over_budget)
                   for p in build_panels(df, COSTS))
    assert expected == 16 and points_drawn(dom) == expected
    assert 'class="main-svg"' in dom and "Per-layer precision of the front" in dom

    # The check sees a page that fails: the same page with a broken script logs its error.
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text(encoding="utf-8").replace(
        "</body>", "<script>notDefinedAnywhere();</script></body>"), encoding="utf-8")
    _, console = render(broken, tmp_path / "profile")
    assert len(console) == 1 and "Uncaught ReferenceError: notDefinedAnywhere" in console[0]
