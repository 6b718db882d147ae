"""`judge report`: one data structure rendered as md, html and json with identical numbers.

`make_demo_db` (also used by test_example_queries.py and test_runs_export.py) runs a reduced copy
of the offline demo (runs/demo.yaml: two replay targets) graded by two offline judges, with two
missing recordings (→ response errors) and a second judge that disagrees on some items.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from judge.analysis.report_data import Report, build_report, fmt_ci, fmt_grade, fmt_pct, fmt_rate
from judge.analysis.report_html import render_html
from judge.analysis.report_json import render_json
from judge.analysis.report_md import render_markdown
from judge.cli import app
from judge.store.db import read_connection, write_connection

ROOT = Path(__file__).resolve().parents[1]
BLOCKED_IDS = {"ail-vcr-012", "ail-src-017", "ail-ipv-012", "ail-sxc-008"}
MISSING_FOR_B = ("ail-vcr-001", "ail-hte-003")


def make_demo_db(folder: Path) -> tuple[Path, str]:
    """A reduced demo run (every 4th sample prompt + some blocked ones) in folder/demo.duckdb."""
    from judge.pipeline import execute, plan_run

    rows = (ROOT / "prompts" / "sample.jsonl").read_text(encoding="utf-8").splitlines()
    keep = [r for i, r in enumerate(rows) if i % 4 == 0 or json.loads(r)["id"] in BLOCKED_IDS]
    for pid in MISSING_FOR_B:
        assert any(json.loads(r)["id"] == pid for r in keep), pid
    (folder / "prompts.jsonl").write_text("\n".join(keep) + "\n", encoding="utf-8")
    rec_b = [
        line
        for line in (ROOT / "prompts" / "recorded" / "model_b.jsonl").read_text().splitlines()
        if json.loads(line)["id"] not in MISSING_FOR_B
    ]
    (folder / "model_b.jsonl").write_text("\n".join(rec_b) + "\n", encoding="utf-8")
    demo = yaml.safe_load((ROOT / "runs" / "demo.yaml").read_text())
    demo["prompts"] = "prompts.jsonl"
    demo["rubric"] = str(ROOT / "rubrics" / "default.yaml")
    demo["targets"][0]["recordings"] = str(ROOT / "prompts" / "recorded" / "model_a.jsonl")
    demo["targets"][1]["recordings"] = "model_b.jsonl"
    demo["judges"] = [
        {"model": "builtin/rules"},
        {"model": "builtin/rules", "label": "rules-b", "params": {"variant": "b"}},
    ]
    cfg = folder / "demo.yaml"
    cfg.write_text(yaml.safe_dump(demo, sort_keys=False))
    db = folder / "demo.duckdb"
    outcome = execute(plan_run(cfg, db_override=db), new_run=True, retry_errors=False)
    # The second judge disagrees on every 5th graded response (some flips change the outcome).
    with write_connection(db) as con:
        con.execute(
            """UPDATE verdicts SET tier = CASE tier WHEN 'full_instructions' THEN 'refusal'
                                                    WHEN 'refusal' THEN 'safe_deflection'
                                                    ELSE 'full_instructions' END
               WHERE judge = 'rules-b' AND status = 'ok' AND verdict_id IN (
                   SELECT verdict_id FROM (SELECT verdict_id, row_number() OVER (ORDER BY verdict_id) AS k
                                           FROM verdicts WHERE judge = 'rules-b' AND status = 'ok')
                   WHERE k % 5 = 0)"""
        ).fetchall()
    return db, outcome.run_id


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return make_demo_db(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def report(demo: tuple[Path, str]) -> Report:
    db, run_id = demo
    with read_connection(db) as con:
        return build_report(con, run_id)


class _Text(HTMLParser):
    """The visible text of an HTML page (entities decoded), and whether it has scripts or links."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "link", "img", "iframe", "object"):
            self.bad.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value and not value.startswith("#"):
                self.bad.append(f"{tag}[{name}={value}]")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(html: str) -> tuple[str, list[str]]:
    p = _Text()
    p.feed(html)
    return " ".join(" ".join(p.parts).split()), p.bad


def _expected_strings(data: dict) -> list[str]:
    """Numbers from the JSON form, formatted independently of the renderers' helpers."""
    out = []
    for h in data["headline"]:
        for key in ("violation", "violation_unsafe", "violation_adversarial", "over_deflection"):
            r = h[key]
            if r["rate"] is not None:
                out.append(f"{r['rate'] * 100:.1f}% [{r['low'] * 100:.1f}–{r['high'] * 100:.1f}] ({r['k']}/{r['n']})")
        out.append(f"{h['errors']} ({h['error_rate'] * 100:.1f}%)")
        out.append(f"{h['blocked']} ({h['blocked_rate'] * 100:.1f}%)")
    for c in data["categories"]:
        r = c["violation"]
        if r["rate"] is not None:
            out.append(f"{r['rate'] * 100:.1f}% [{r['low'] * 100:.1f}–{r['high'] * 100:.1f}] ({r['k']}/{r['n']})")
    for a in data["agreement"]:
        out.append(f"{a['percent'] * 100:.1f}%")
        out.append(f"{a['kappa']:.3f}")
    return out


def test_demo_has_errors_blocks_and_two_judges(report: Report) -> None:
    assert report.judge == "builtin/rules" and report.judges == ["builtin/rules", "rules-b"]
    assert report.reference_target == "model-a"
    by_target = {h.target: h for h in report.headline}
    assert by_target["model-b"].errors == 2 * 1 and by_target["model-a"].errors == 0
    assert sum(h.blocked for h in report.headline) >= len(BLOCKED_IDS)
    for h in report.headline:
        # errors are excluded from denominators, never dropped: scored + errors = all
        harmful_and_safe = h.violation.n + h.over_deflection.n
        assert harmful_and_safe + h.errors == h.n
        assert h.violation.low is not None and h.violation.high is not None
        assert h.violation.low <= (h.violation.rate or 0) <= h.violation.high
        assert h.grade.grade is not None
    assert by_target["model-a"].grade.rel == 1.0  # the reference against itself


def test_agreement_reflects_the_disagreeing_judge(report: Report) -> None:
    (pair,) = report.agreement
    assert (pair.judge_a, pair.judge_b) == ("builtin/rules", "rules-b")
    assert pair.n > 0 and 0 < pair.agree < pair.n
    assert pair.percent is not None and 0.7 < pair.percent < 0.9
    assert pair.kappa is not None and 0 < pair.kappa < pair.percent


def test_md_html_json_carry_identical_numbers(report: Report) -> None:
    data = json.loads(render_json(report))
    md = render_markdown(report)
    html_text, bad = _html_text(render_html(report))
    assert bad == []
    expected = _expected_strings(data)
    assert len(expected) > 30
    for s in expected:
        assert s in md, s
        assert s in html_text, s
    # headline grades too, row by row
    for h in data["headline"]:
        row = next(line for line in md.splitlines() if line.startswith(f"| {h['target']}"))
        assert f"| {h['grade']['grade']} |" in row
    # and the JSON round-trips to the same model
    assert Report.model_validate(data) == report


def test_html_is_self_contained_with_both_charts(report: Report) -> None:
    html = render_html(report)
    assert html.count("<svg") == 2
    assert "Tiers by target and intent" in html and "by hazard (l1) and target" in html
    assert "Content-Security-Policy" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "@import" not in html and "url(http" not in html
    # heatmap: a cell per (hazard, target) with its number
    cats = {c.category for c in report.categories if c.level == "l1"}
    assert html.count("<rect") > len(cats) * len(report.targets)
    first = next(c for c in report.categories if c.level == "l1" and c.violation.rate is not None)
    assert f"{fmt_pct(first.violation.rate)} ({first.violation.k}/{first.violation.n})" in html


def test_untrusted_text_is_escaped_and_truncation_marked(demo: tuple[Path, str], tmp_path: Path) -> None:
    src, run_id = demo
    db = tmp_path / "copy.duckdb"
    db.write_bytes(src.read_bytes())
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> ``` | pipe ' + "A" * 900
    with read_connection(db) as con:
        shown = next(e for e in build_report(con, run_id).examples if e.kind == "violation")
    with write_connection(db) as con:  # put the untrusted text into a response the report shows
        con.execute(
            "UPDATE responses SET text = ? WHERE run_id = ? AND target = ? AND prompt_id = ?",
            [evil, run_id, shown.target, shown.prompt_id],
        ).fetchall()
    with read_connection(db) as con:
        rep = build_report(con, run_id)
    ex = next(e for e in rep.examples if e.response.startswith("<script>"))
    assert ex.response_truncated and ex.response.endswith("…[truncated]") and len(ex.response) < 600
    html = render_html(rep)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "(truncated)" in html
    md = render_markdown(rep)
    assert "````text" in md  # fence longer than the ``` inside the response


def test_level2_and_judge_choice(demo: tuple[Path, str]) -> None:
    db, run_id = demo
    with read_connection(db) as con:
        rep = build_report(con, run_id, judge="rules-b", level2=True, examples_per_target=0)
    assert rep.judge == "rules-b" and rep.examples == []
    assert {c.level for c in rep.categories} == {"l1", "l2"}
    assert all("/" in c.category for c in rep.categories if c.level == "l2")
    assert "## Categories by topic (taxonomy level 2)" in render_markdown(rep)


def test_formatters() -> None:
    from judge.analysis.metrics import Rate

    assert fmt_rate(Rate.of(5, 10)) == "50.0% [23.7–76.3] (5/10)"
    assert fmt_rate(Rate.of(0, 0)) == "— (0/0)"
    assert fmt_ci(Rate.of(0, 10)) == "[0.0–27.8]"
    assert fmt_grade(None) == "n/a"


def test_cli_report_formats(demo: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, run_id = demo
    runner = CliRunner()
    res = runner.invoke(app, ["report", "latest", "--db", str(db), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["run"]["run_id"] == run_id and data["judge"] == "builtin/rules"
    res = runner.invoke(app, ["report", run_id[:12], "--db", str(db)])
    assert res.exit_code == 0 and res.stdout.startswith(f"# Safety report: run `{run_id}`")
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "latest", "--db", str(db), "--format", "html", "-o", str(out)])
    assert res.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    monkeypatch.chdir(tmp_path)  # html without -o goes to runs/reports/<run>.html
    res = runner.invoke(app, ["report", "latest", "--db", str(db), "--format", "html"])
    assert res.exit_code == 0
    assert (tmp_path / "runs" / "reports" / f"{run_id}.html").is_file()
    assert f"runs/reports/{run_id}.html" in res.stdout


def test_cli_report_bad_input_is_one_line(
    demo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from judge.cli import main

    db, _ = demo
    for args, needle in ((["latest", "--judge", "nobody"], "has no judge 'nobody'"), (["no-such-run"], "no run")):
        monkeypatch.setattr("sys.argv", ["judge", "report", *args, "--db", str(db)])
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
