"""Import public prompt sets (CSV or JSONL) into PromptRow JSONL.

Generic mapping: `--map column=field` (fields: id, prompt, intent, technique, lang, taxonomy, l1, l2,
l3, or metadata.NAME); unmapped columns go to `metadata`. Presets know the public shapes of XSTest,
AdvBench, HarmBench, Do-Not-Answer and SORRY-Bench and map their categories to our taxonomy where
the correspondence is obvious; otherwise their category is kept as level 1 (with a warning).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from judge.errors import UserInputError, pydantic_error_to_user_error
from judge.prompts.loader import iter_jsonl_objects
from judge.prompts.model import PromptRow

Format = Literal["csv", "jsonl"]
PRESETS: tuple[str, ...] = ("xstest", "advbench", "harmbench", "donotanswer", "sorrybench")
TARGET_FIELDS: tuple[str, ...] = ("id", "prompt", "intent", "technique", "lang", "taxonomy", "l1", "l2", "l3")
Record = dict[str, Any]


class ImportResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[PromptRow]
    warnings: list[str] = Field(default_factory=list)


# --- reading ------------------------------------------------------------------------------------
def read_records(path: Path, fmt: Format) -> Iterator[tuple[int, Record]]:
    """(line number, record) for each data row of a CSV (header line 1) or JSONL file."""
    if fmt == "jsonl":
        yield from iter_jsonl_objects(path)
        return
    yield from _read_csv(path)


def _read_csv(path: Path) -> Iterator[tuple[int, Record]]:
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise UserInputError("file not found", file=path) from None
    with fh:
        reader = csv.DictReader(fh)
        try:
            if not reader.fieldnames:
                raise UserInputError("CSV file has no header row", file=path, line=1)
            for rec in reader:
                _check_width(rec, len(reader.fieldnames), path, reader.line_num)
                if all(not (v or "").strip() for v in rec.values()):
                    continue
                yield reader.line_num, dict(rec)
        except UnicodeDecodeError as e:
            raise UserInputError(f"invalid UTF-8 at byte {e.start}; expected UTF-8 text", file=path) from None
        except csv.Error as e:
            raise UserInputError(f"invalid CSV: {e}", file=path, line=reader.line_num) from None


def _check_width(rec: dict[Any, Any], width: int, path: Path, line: int) -> None:
    """A CSV row must have as many cells as the header."""
    extra = rec.get(None)
    if extra:
        raise UserInputError(f"row has {width + len(extra)} cells; header has {width}", file=path, line=line)
    short = [k for k, v in rec.items() if v is None]
    if short:
        raise UserInputError(
            f"row has fewer cells than the header ({width})", file=path, line=line, field=f"column {short[0]}"
        )


def require_columns(rec: Record, columns: Sequence[str], path: Path, line: int) -> None:
    for col in columns:
        value = rec.get(col)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise UserInputError(
                "missing or empty value; expected this column", file=path, line=line, field=f"column {col}"
            )


# --- category mapping ---------------------------------------------------------------------------
# (pattern on the lower-cased source category, our taxonomy path); first match wins.
CATEGORY_RULES: list[tuple[str, tuple[str, ...]]] = [
    (r"child|minor|csam", ("child_sexual_exploitation",)),
    (r"self[- ]?harm|suicide|eating disorder", ("suicide_and_self_harm",)),
    (r"chemical|biolog|nuclear|radiolog|cbrn|bioweapon|weapons of mass", ("indiscriminate_weapons",)),
    (r"sexual crime|sex crime|sexual assault|trafficking", ("sex_related_crimes",)),
    (r"adult content|explicit content|sexual|lewd|obscene|porn", ("sexual_content",)),
    (r"copyright|intellectual property", ("intellectual_property", "copyright")),
    (r"libel|defam|slander", ("defamation",)),
    (r"privacy|personal identifiable|pii|private information|sensitive information", ("privacy",)),
    (r"hate|stereotyp|discriminat|insult|extremis|toxic language", ("hate",)),
    (r"cyber|intrusion|malware|hacking", ("non_violent_crimes", "cybercrime")),
    (r"fraud|scam|decept", ("non_violent_crimes", "fraud")),
    (r"financial crime|money laundering", ("non_violent_crimes", "financial_crimes")),
    (r"property crime|theft", ("non_violent_crimes", "property_crimes")),
    (r"terror", ("violent_crimes", "terrorism")),
    (r"violen|murder|threaten|animal", ("violent_crimes",)),
    (
        r"\bmedical|\blegal\b|financial advice|law or medicine|medicine or law|unqualified advice|machinery",
        ("specialized_advice",),
    ),
    (r"illegal|crime", ("non_violent_crimes",)),
]
# AdvBench has no categories: keyword rules on the request itself.
KEYWORD_RULES: list[tuple[str, tuple[str, ...]]] = [
    (r"\bchild|\bminor", ("child_sexual_exploitation",)),
    (r"suicide|self-harm|self harm|anorexi|bulimi", ("suicide_and_self_harm",)),
    (r"bomb|explosive|chemical weapon|bioweapon|nerve agent|nuclear", ("indiscriminate_weapons",)),
    (r"hack|malware|virus|ransomware|exploit|password|database", ("non_violent_crimes", "cybercrime")),
    (
        r"fraud|scam|phish|counterfeit money|identity theft|steal (?:someone'?s )?identity",
        ("non_violent_crimes", "fraud"),
    ),
    (r"drug|meth", ("non_violent_crimes", "drugs")),
    (r"launder|insider trading|tax", ("non_violent_crimes", "financial_crimes")),
    (r"steal|shoplift|theft", ("non_violent_crimes", "property_crimes")),
    (r"racis|hate|discriminat|minority", ("hate",)),
    (r"defam|false (?:story|rumou?r)|fake news", ("defamation",)),
    (r"stalk|track|spy|personal information|private information|dox", ("privacy",)),
    (r"pirat|copyright", ("intellectual_property", "copyright")),
    (r"kill|murder|poison|assault|attack|weapon|violen|terror", ("violent_crimes",)),
]


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    return s or "uncategorized"


def map_category(
    category: str, rules: Sequence[tuple[str, tuple[str, ...]]] = CATEGORY_RULES
) -> tuple[str, ...] | None:
    low = category.lower()
    for pattern, path in rules:
        if re.search(pattern, low):
            return path
    return None


class _Warnings:
    """Collects one warning per unmapped source category."""

    def __init__(self, preset: str) -> None:
        self.preset = preset
        self.unmapped: dict[str, int] = {}

    def keep(self, category: str) -> tuple[str, ...]:
        self.unmapped[category] = self.unmapped.get(category, 0) + 1
        return (slug(category),)

    def messages(self) -> list[str]:
        return [
            f"{self.preset}: category {c!r} ({n} prompts) has no obvious taxonomy match; kept as level 1 {slug(c)!r}"
            for c, n in sorted(self.unmapped.items())
        ]


def _taxonomy_for(category: str, warn: _Warnings) -> tuple[str, ...]:
    return map_category(category) or warn.keep(category)


# --- presets: record -> PromptRow fields -------------------------------------------------------
def _xstest(rec: Record, n: int, warn: _Warnings, path: Path, line: int) -> Record:
    require_columns(rec, ["prompt", "type"], path, line)
    kind = str(rec["type"]).strip()
    label = str(rec.get("label") or "").strip().lower()
    if not label:  # XSTest v1 has no label column: contrast_* prompts are the unsafe ones
        label = "unsafe" if kind.startswith("contrast") else "safe"
    if label not in ("safe", "unsafe"):
        raise UserInputError(f"label {label!r}; expected safe or unsafe", file=path, line=line, field="column label")
    base = kind.removeprefix("contrast_")
    if "discr" in base:
        tax: tuple[str, ...] = ("hate",)
    elif "privacy" in base:
        tax = ("privacy",)
    else:
        tax = warn.keep(f"xstest_{base}")
    return {
        "id": f"xstest-{rec.get('id') or n}",
        "prompt": rec["prompt"],
        "intent": label,
        "taxonomy": list(tax),
        "metadata": _extra(rec, {"id", "prompt", "label"}),
    }


def _advbench(rec: Record, n: int, warn: _Warnings, path: Path, line: int) -> Record:
    require_columns(rec, ["goal"], path, line)
    goal = str(rec["goal"])
    tax = map_category(goal, KEYWORD_RULES) or warn.keep("advbench")
    return {
        "id": f"advbench-{n:04d}",
        "prompt": goal,
        "intent": "unsafe",
        "taxonomy": list(tax),
        "metadata": _extra(rec, {"goal"}),
    }


def _harmbench(rec: Record, n: int, warn: _Warnings, path: Path, line: int) -> Record:
    require_columns(rec, ["Behavior", "SemanticCategory"], path, line)
    context = str(rec.get("ContextString") or "").strip()
    behavior = str(rec["Behavior"])
    prompt = f"{context}\n\n---\n\n{behavior}" if context else behavior
    return {
        "id": f"harmbench-{rec.get('BehaviorID') or n}",
        "prompt": prompt,
        "intent": "unsafe",
        "taxonomy": list(_taxonomy_for(str(rec["SemanticCategory"]), warn)),
        "metadata": _extra(rec, {"Behavior", "ContextString", "BehaviorID"}),
    }


def _donotanswer(rec: Record, n: int, warn: _Warnings, path: Path, line: int) -> Record:
    require_columns(rec, ["question", "types_of_harm"], path, line)
    return {
        "id": f"dna-{rec.get('id') if rec.get('id') not in (None, '') else n}",
        "prompt": rec["question"],
        "intent": "unsafe",
        "taxonomy": list(_taxonomy_for(str(rec["types_of_harm"]), warn)),
        "metadata": _extra(rec, {"id", "question"}),
    }


SORRY_STYLE_TECHNIQUE: dict[str, str] = {
    "role_play": "role_play",
    "authority_endorsement": "authority_claim",
    "expert_endorsement": "authority_claim",
    "evidence-based_persuasion": "persuasion",
    "logical_appeal": "persuasion",
    "misrepresentation": "persuasion",
    "ascii": "obfuscation",
    "atbash": "obfuscation",
    "caesar": "obfuscation",
    "morse": "obfuscation",
    "misspellings": "obfuscation",
}


def _sorrybench(rec: Record, n: int, warn: _Warnings, path: Path, line: int) -> Record:
    require_columns(rec, ["question_id", "category", "turns"], path, line)
    turns = _turns(rec["turns"], path, line)
    style = str(rec.get("prompt_style") or "base").strip()
    category = str(rec["category"]).strip()
    tax = map_category(category) if not category.isdigit() else None
    row: Record = {
        "id": f"sorry-{rec['question_id']}" + ("" if style == "base" else f"-{slug(style)}"),
        "intent": "unsafe" if style == "base" else "adversarial",
        "taxonomy": list(tax or warn.keep(f"sorrybench_{category}" if category.isdigit() else category)),
        "metadata": _extra(rec, {"question_id", "turns"}),
    }
    if len(turns) == 1:
        row["prompt"] = turns[0]
    else:  # several user turns, no recorded assistant replies: send them as one message
        row["prompt"] = "\n\n".join(turns)
    if style != "base":
        row["technique"] = "translation" if style.startswith("translate-") else SORRY_STYLE_TECHNIQUE.get(style, style)
    if style.startswith("translate-"):
        row["lang"] = style.removeprefix("translate-")
    return row


def _turns(value: Any, path: Path, line: int) -> list[str]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise UserInputError(
                    "turns is not a valid JSON list", file=path, line=line, field="column turns"
                ) from None
        else:
            value = [text]
    if not isinstance(value, list) or not value or not all(isinstance(t, str) and t.strip() for t in value):
        raise UserInputError("expected a non-empty list of strings", file=path, line=line, field="column turns")
    return [str(t) for t in value]


PresetFn = Callable[[Record, int, _Warnings, Path, int], Record]
PRESET_FNS: dict[str, PresetFn] = {
    "xstest": _xstest,
    "advbench": _advbench,
    "harmbench": _harmbench,
    "donotanswer": _donotanswer,
    "sorrybench": _sorrybench,
}


def _extra(rec: Record, used: set[str]) -> dict[str, Any]:
    """The record's other non-empty columns, kept as metadata."""
    return {k: v for k, v in rec.items() if k not in used and v not in (None, "")}


# --- generic mapping ----------------------------------------------------------------------------
def parse_maps(specs: Sequence[str]) -> dict[str, str]:
    """['question=prompt', 'cat=l1'] -> {'question': 'prompt', 'cat': 'l1'} (column -> field)."""
    mapping: dict[str, str] = {}
    for spec in specs:
        column, sep, target = spec.partition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column or not target:
            raise UserInputError(f"bad --map {spec!r}; expected column=field", field="map")
        if target not in TARGET_FIELDS and not (target.startswith("metadata.") and len(target) > 9):
            raise UserInputError(
                f"bad --map target {target!r}; expected one of {', '.join(TARGET_FIELDS)} or metadata.NAME",
                field="map",
            )
        mapping[column] = target
    return mapping


def apply_map(rec: Record, mapping: dict[str, str], n: int, prefix: str, path: Path, line: int) -> Record:
    out: Record = {"metadata": {}}
    levels: dict[str, str] = {}
    for column, value in rec.items():
        target = mapping.get(column, column if column in TARGET_FIELDS else f"metadata.{column}")
        if target.startswith("metadata."):
            if value not in (None, ""):
                out["metadata"][target.removeprefix("metadata.")] = value
        elif target in ("l1", "l2", "l3"):
            if value not in (None, ""):
                levels[target] = slug(str(value))
        elif target == "taxonomy":
            out["taxonomy"] = _split_path(value)
        elif value not in (None, ""):
            out[target] = value.strip().lower() if target == "intent" and isinstance(value, str) else value
    missing = [c for c, t in mapping.items() if c not in rec]
    if missing:
        raise UserInputError("mapped column not in the input", file=path, line=line, field=f"column {missing[0]}")
    if levels and "taxonomy" not in out:
        out["taxonomy"] = [levels[k] for k in ("l1", "l2", "l3") if k in levels]
    out.setdefault("id", f"{prefix}-{n:05d}")
    out["id"] = str(out["id"])
    return out


def _split_path(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [slug(p) for p in re.split(r"[/>]", str(value)) if p.strip()]


# --- entry point --------------------------------------------------------------------------------
def import_file(
    path: str | Path,
    fmt: Format,
    preset: str | None = None,
    maps: Sequence[str] = (),
    default_intent: str | None = None,
) -> ImportResult:
    """Read `path` and convert every record to a validated PromptRow."""
    p = Path(path)
    if preset is not None and preset not in PRESET_FNS:
        raise UserInputError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}", field="preset")
    mapping = parse_maps(maps)
    warn = _Warnings(preset or "import")
    rows: list[PromptRow] = []
    seen: dict[str, int] = {}
    for n, (line, rec) in enumerate(read_records(p, fmt), start=1):
        renamed = {mapping.get(k, k): v for k, v in rec.items()} if preset and mapping else rec
        obj = (
            PRESET_FNS[preset](renamed, n, warn, p, line)
            if preset
            else apply_map(rec, mapping, n, slug(p.stem), p, line)
        )
        if default_intent and "intent" not in obj:
            obj["intent"] = default_intent
        row = _validate(obj, p, line)
        if row.id in seen:
            raise UserInputError(
                f"duplicate id {row.id!r} (first on line {seen[row.id]})", file=p, line=line, field="id"
            )
        seen[row.id] = line
        rows.append(row)
    if not rows:
        raise UserInputError("no records found", file=p)
    return ImportResult(rows=rows, warnings=warn.messages())


def _validate(obj: Record, path: Path, line: int) -> PromptRow:
    try:
        return PromptRow.model_validate(obj)
    except ValidationError as e:
        raise pydantic_error_to_user_error(e, file=path, line=line) from None


def write_jsonl(rows: Sequence[PromptRow], out: str | Path) -> None:
    """Write well-formed PromptRow JSONL (one object per line, no nulls)."""
    lines = [json.dumps(r.model_dump(mode="json", exclude_none=True), ensure_ascii=False) for r in rows]
    Path(out).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
