"""`judge view` in a real browser: Playwright driving Debian's Chromium over databases built in the test.

The offline demo (`judge run runs/demo.yaml`) answers "which privacy prompts did model-b fail, and
what did it say" in a few clicks, then three answers are labelled with the keyboard; a database of
two nightly runs with hostile answers is compared and read without any script running.

Chromium is /usr/bin/chromium (`.ci/run` installs it). Without it these tests FAIL, in CI always;
locally, JUDGE_SKIP_BROWSER_TESTS=1 skips them. JUDGE_UPDATE_SCREENSHOTS=1 writes the screenshots
to docs/screenshots/ (the README shows them); otherwise they go to a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pipeline_helpers import ROOT, judge_cli, load_script, query

from judge.view.server import ViewServer

CHROMIUM = os.environ.get("JUDGE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# every page records Content-Security-Policy violations; hostile texts would set window.__pwned
INIT_SCRIPT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""

pytestmark = pytest.mark.timeout(300)


def _chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("JUDGE_SKIP_BROWSER_TESTS") == "1" and os.environ.get("CI", "").lower() != "true":
        pytest.skip("JUDGE_SKIP_BROWSER_TESTS=1 and no Chromium at " + CHROMIUM)
    pytest.fail(
        f"Chromium not found at {CHROMIUM}: install it (apt-get install -y chromium; .ci/run does) "
        "or set JUDGE_SKIP_BROWSER_TESTS=1 to skip the browser tests locally"
    )


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("JUDGE_UPDATE_SCREENSHOTS") == "1":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 900},
        )
        context.add_init_script(INIT_SCRIPT)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    keys = {"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": ""}
    out = judge_cli(["run", "runs/demo.yaml", "--db", str(db), "-q"], env=keys)
    assert out.returncode == 0, out.stderr
    return db


@pytest.fixture(scope="module")
def nightly_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("nightly") / "nightly.duckdb"
    load_script("bench_view").build_database(db, 240, hostile=True)
    return db


def _clean(page: Any) -> None:
    """No script of a stored text ran and the page broke no CSP rule."""
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__csp") == []


def _total(page: Any) -> int:
    return int(page.inner_text("#total").replace(",", ""))


def test_privacy_failures_of_model_b_in_a_few_clicks_then_label_three(browser: Any, demo_db: Path, shots: Path) -> None:
    run_id = query(demo_db, "SELECT run_id FROM runs")[0][0]
    page = browser.new_page()
    with ViewServer(
        demo_db, label=True, annotator="browser-test", label_set="browser", sample_n=10, wait_s=120
    ) as server:
        page.goto(server.url + "/")
        assert run_id in page.inner_text("#runs")
        page.screenshot(path=str(shots / "runs.png"))
        _clean(page)

        # 1. the run
        page.click(f'#runs a[href="/runs/{run_id}"]')
        page.wait_for_selector("#headline")
        assert "model-b" in page.inner_text("#headline")
        page.screenshot(path=str(shots / "run.png"), full_page=True)
        _clean(page)

        # 2. privacy × model-b: violations
        row = page.locator("#hazards tr", has=page.locator("td", has_text=re.compile(r"^privacy$")))
        row.locator('a.hz-link[href*="target=model-b"]').click()
        page.wait_for_selector("#verdicts")
        assert "target=model-b" in page.url and "l1=privacy" in page.url and "outcome=violation" in page.url
        judge = query(demo_db, "SELECT name FROM run_models WHERE role = 'judge' ORDER BY name")[0][0]
        expected = query(
            demo_db,
            "SELECT count(*) FROM scored WHERE run_id = ? AND target = 'model-b' AND l1 = 'privacy' "
            "AND outcome = 'violation' AND judge = ?",
            [run_id, judge],
        )[0][0]
        assert expected > 0 and _total(page) == expected
        cells = page.locator("#verdicts tbody tr td:nth-child(4)").all_inner_texts()
        assert cells and set(cells) == {"model-b"}
        page.screenshot(path=str(shots / "verdicts.png"))
        _clean(page)

        # 3. filter by the other judge from the menu (submitted by view.js)
        other = query(demo_db, "SELECT name FROM run_models WHERE role = 'judge' AND name <> ?", [judge])[0][0]
        page.select_option("#f-judge", other)
        page.wait_for_url(re.compile("judge=" + re.escape(quote(other, safe=""))))
        expected_other = query(
            demo_db,
            "SELECT count(*) FROM scored WHERE run_id = ? AND target = 'model-b' AND l1 = 'privacy' "
            "AND outcome = 'violation' AND judge = ?",
            [run_id, other],
        )[0][0]
        assert _total(page) == expected_other

        # 4. what model-b said
        first = page.locator("a.item-link").first
        prompt_id = first.inner_text()
        first.click()
        page.wait_for_selector("#response")
        said = query(
            demo_db,
            "SELECT r.text FROM responses r WHERE r.run_id = ? AND r.prompt_id = ? AND r.target = 'model-b'",
            [run_id, prompt_id],
        )[0][0]
        assert page.inner_text("#response .text") == said
        assert page.locator(".verdict").count() == 2
        assert page.inner_text("#item-target") == "model-b"
        page.screenshot(path=str(shots / "item.png"), full_page=True)
        _clean(page)

        # 5. agreement: a confusion-matrix cell opens exactly its answers
        page.goto(server.url + f"/runs/{run_id}/agreement")
        page.screenshot(path=str(shots / "agreement.png"), full_page=True)
        cell = page.locator("#matrix-1 td.off a").first
        n = int(cell.inner_text())
        cell.click()
        page.wait_for_selector("#summary")
        assert _total(page) == n
        _clean(page)

        # 6. label three answers with the keyboard (and skip one)
        page.goto(server.url + f"/runs/{run_id}/label")
        assert "0 of 10 labelled" in page.inner_text("#progress-text")
        page.screenshot(path=str(shots / "label.png"), full_page=True)
        labelled: dict[str, str] = {}
        for key, tier in (("3", "refusal"), ("1", "full_instructions"), ("s", None), ("4", "safe_deflection")):
            rid = page.get_attribute('input[name="response_id"]', "value")
            assert rid
            with page.expect_navigation():
                page.keyboard.press(key)
            if tier:
                labelled[rid] = tier
            else:
                skipped = rid
        assert "3 of 10 labelled" in page.inner_text("#progress-text")
        _clean(page)
        rows = query(
            demo_db,
            "SELECT response_id, tier, binary_label, label_set, annotator, source_file FROM gold_labels",
        )
        assert {r[0]: r[1] for r in rows} == labelled
        assert skipped not in labelled
        binary = {"full_instructions": "comply", "partial": "comply", "refusal": "refuse", "safe_deflection": "refuse"}
        for _rid, tier, binary_label, label_set, annotator, source in rows:
            assert (binary_label, label_set, annotator) == (binary[tier], "browser", "browser-test")
            assert source == f"run:{run_id}"
        # resumable: a new visit starts at the first answer not labelled yet (the skipped one)
        page.goto(server.url + f"/runs/{run_id}/label")
        assert page.get_attribute('input[name="response_id"]', "value") == skipped
    page.close()


def test_two_runs_side_by_side(browser: Any, nightly_db: Path, shots: Path) -> None:
    old, new = (r[0] for r in query(nightly_db, "SELECT run_id FROM runs ORDER BY started_at"))
    page = browser.new_page()
    with ViewServer(nightly_db, wait_s=120) as server:
        page.goto(server.url + "/")
        page.click(f'a[href="/compare?a={old}&b={new}"]')
        page.wait_for_selector("#checks")
        assert "violation_rate" in page.inner_text("#checks")
        assert page.locator("#flip-hazards tbody tr").count() > 0
        page.screenshot(path=str(shots / "compare.png"))
        page.locator("#flip-hazards a", has_text="privacy").first.click()
        page.wait_for_selector("#flip-title")
        assert "in privacy" in page.inner_text("#flip-title")
        hazards = set(page.locator("#flips tbody tr td:nth-child(2)").all_inner_texts())
        assert hazards == {"privacy"}
        _clean(page)
    page.close()


def test_hostile_answers_render_as_text(browser: Any, nightly_db: Path) -> None:
    bench = load_script("bench_view")
    page = browser.new_page()
    with ViewServer(nightly_db, wait_s=120) as server:
        for text in bench.HOSTILE_TEXTS[:3]:
            rid = query(nightly_db, "SELECT response_id FROM responses WHERE text = ?", [text])[0][0]
            page.goto(server.url + f"/items/{rid}")
            assert page.inner_text("#response .text") == text
            assert "<b onmouseover=alert(1)>rationale</b>" in page.inner_text("#verdict-1")
            _clean(page)
        assert page.locator('a[href^="javascript:"]').count() == 0
        rtl = query(nightly_db, "SELECT response_id FROM responses WHERE text LIKE 'RTL%'")[0][0]
        page.goto(server.url + f"/items/{rtl}")
        shown = page.inner_text("#response .text")
        assert "\u202e" not in shown and "⟦U+202E⟧" in shown and "⟦U+200B⟧" in shown
        huge = query(nightly_db, "SELECT response_id FROM responses WHERE length(text) = 200000")[0][0]
        page.goto(server.url + f"/items/{huge}")
        assert "Cut at 100,000 of 200,000 characters" in page.inner_text("main")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1400  # the huge line wraps
        run = query(nightly_db, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0][0]
        page.goto(server.url + f"/runs/{run}/verdicts?target=model-b&q=__pwned")
        assert _total(page) >= 4
        body = page.inner_text("#verdicts")
        assert "<script>window.__pwned = 'script'</script>" in body and '<svg onload="window.__pwned' in body
        assert page.locator("#verdicts img, #verdicts svg, #verdicts script").count() == 0
        _clean(page)
    page.close()
