"""The judge stage reads its later pages of responses off the event loop, and every response is judged once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import openai_model, query, write_config, write_prompts

import judge.stages.grade as grade
from judge.pipeline import execute, plan_run

SERVER = {"models": {"gpt-b": {"role": "target", "responder": "by_intent"}, "judge-b": {"role": "judge"}}}


def test_later_pages_are_read_in_a_thread_and_every_answer_is_judged_once(
    tmp_path: Path, fake_server: Any, keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.set_config(SERVER)
    url = fake_server.url
    n = grade.FIRST_PAGE * 2 + 20  # the first page, then a larger one
    write_prompts(tmp_path, n)
    cfg = write_config(
        tmp_path,
        url,
        targets=[openai_model(url, "gpt-b", concurrency=16)],
        judges=[openai_model(url, "judge-b", concurrency=16)],
    )
    readers: list[tuple[str, int]] = []  # (thread name, responses read)
    real = grade.responses_to_grade_page

    def page(*args: Any, **kwargs: Any) -> Any:
        rows = real(*args, **kwargs)
        readers.append((threading.current_thread().name, len(rows)))
        return rows

    monkeypatch.setattr(grade, "responses_to_grade_page", page)
    outcome = execute(plan_run(cfg))
    assert outcome.status == "complete", outcome.reason
    main = threading.main_thread().name
    assert readers[0] == (main, grade.FIRST_PAGE)  # the first page before any request: on the loop's thread
    assert len(readers) >= 3 and all(name != main for name, _ in readers[1:])  # the rest off the loop
    assert sum(k for _, k in readers) == n
    db = tmp_path / "judge.duckdb"
    assert query(db, "select count(*), count(distinct response_id) from verdicts where status = 'ok'") == [(n, n)]
