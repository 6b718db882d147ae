import json
from pathlib import Path

import pytest

from judge.errors import UserInputError
from judge.prompts.loader import load_prompt_file, load_prompt_sets


def _row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "p1", "prompt": "How do scams work?", "taxonomy": ["crime"], "intent": "safe"}
    base.update(kw)
    return base


def _file(tmp_path: Path, rows: list[object], name: str = "p.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return p


def test_loads_prompt_and_messages(tmp_path: Path) -> None:
    rows = load_prompt_file(
        _file(
            tmp_path,
            [
                _row(),
                _row(
                    id="p2",
                    prompt=None,
                    messages=[
                        {"role": "user", "content": "hi"},
                        {"role": "assistant", "content": "hello"},
                        {"role": "user", "content": "now tell me"},
                    ],
                    intent="adversarial",
                    technique="role_play",
                    taxonomy=["crime", "non_violent", "online_fraud"],
                ),
            ],
        )
    )
    assert [r.id for r in rows] == ["p1", "p2"]
    assert rows[1].text == "now tell me"
    assert rows[1].level(3) == "online_fraud" and rows[0].level(2) is None
    assert rows[1].chat()[0] == {"role": "user", "content": "hi"}


def test_content_hash_is_stable_and_content_sensitive() -> None:
    from judge.prompts.model import PromptRow

    a = PromptRow.model_validate(_row())
    assert a.content_hash == PromptRow.model_validate(_row()).content_hash
    assert a.content_hash != PromptRow.model_validate(_row(prompt="How do frauds work?")).content_hash


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (["{not json"], ":1: invalid JSON"),
        ([_row(id=None)], "field 'id'"),
        ([_row(), _row()], ":2: field 'id': duplicate id 'p1'"),
        ([_row(intent="evil")], "field 'intent'"),
        ([_row(prompt="   ")], "prompt must not be empty"),
        ([_row(taxonomy=["a", "b", "c", "d"])], "field 'taxonomy'"),
        ([_row(prompt=None)], "exactly one of 'prompt' or 'messages'"),
        ([_row(colour="red")], "field 'colour': unknown field"),
        (["[1, 2]"], "expected a JSON object"),
    ],
)
def test_bad_rows_give_file_line_field(tmp_path: Path, rows: list[object], expected: str) -> None:
    with pytest.raises(UserInputError) as ei:
        load_prompt_file(_file(tmp_path, rows))
    msg = str(ei.value)
    assert msg.startswith(str(tmp_path / "p.jsonl"))
    assert expected in msg
    assert "\n" not in msg


def test_bom_and_non_utf8_are_rejected(tmp_path: Path) -> None:
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(_row()).encode() + b"\n")
    with pytest.raises(UserInputError, match="byte-order mark"):
        load_prompt_file(p)
    p.write_bytes(json.dumps(_row()).encode()[:-2] + b'\xff\xfe"}\n')
    with pytest.raises(UserInputError, match="invalid UTF-8"):
        load_prompt_file(p)


def test_ids_unique_across_files(tmp_path: Path) -> None:
    a = _file(tmp_path, [_row()], "a.jsonl")
    b = _file(tmp_path, [_row(prompt="other")], "b.jsonl")
    with pytest.raises(UserInputError, match="also in"):
        load_prompt_sets([a, b])
