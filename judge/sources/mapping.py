"""From an imported record to a prompt row: taxonomy, intent and technique, by default or by a mapping file.

By default the taxonomy comes from the field `taxonomy` (a list or an `a/b/c` path) or `category` (level 1),
the intent from `intent`, the technique from `technique` (metadata of Inspect samples and promptfoo
tests, or the columns a table import names). A mapping file (`--map FILE`, YAML) changes that:

    fields: {taxonomy: category, intent: intent, technique: attack}   # which field holds what (dotted paths)
    values:
      taxonomy: {physical_security: non_violent_crimes, fraud: [non_violent_crimes, fraud]}
      intent: {benign: safe, harmful: unsafe, jailbreak: adversarial}
    defaults: {intent: unsafe, taxonomy: [non_violent_crimes]}

Every taxonomy path a mapping file names must be in the taxonomy (prompts/taxonomy.yaml or --taxonomy);
when `values.taxonomy` is given every value met must be mapped (or `defaults.taxonomy` set), so the rows
pass `judge prompts check`'s taxonomy rule. Without one, paths outside the taxonomy are allowed and warned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from judge.errors import UserInputError, pydantic_error_to_user_error
from judge.prompts.model import Intent, PromptRow
from judge.prompts.taxonomy import Taxonomy
from judge.sources.items import RawItem
from judge.yaml_files import load_yaml_mapping

Path3 = tuple[str, ...]


def split_path(value: Any) -> Path3:
    """A taxonomy path from a list or an `a/b/c` string (empty levels dropped)."""
    if isinstance(value, list | tuple):
        levels = [str(v).strip() for v in value]
    else:
        levels = [p.strip() for p in str(value).split("/")]
    return tuple(level for level in levels if level)


class FieldNames(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    taxonomy: str | None = None
    intent: str | None = None
    technique: str | None = None


class ValueMaps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    taxonomy: dict[str, Path3] = Field(default_factory=dict)
    intent: dict[str, Intent] = Field(default_factory=dict)

    @field_validator("taxonomy", mode="before")
    @classmethod
    def _paths(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        return {str(k): split_path(p) for k, p in v.items()}


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    taxonomy: Path3 | None = None
    intent: Intent | None = None
    technique: str | None = None

    @field_validator("taxonomy", mode="before")
    @classmethod
    def _path(cls, v: Any) -> Any:
        return None if v is None else split_path(v)


class MappingFile(BaseModel):
    """The `--map FILE` contents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: FieldNames = Field(default_factory=FieldNames)
    values: ValueMaps = Field(default_factory=ValueMaps)
    defaults: Defaults = Field(default_factory=Defaults)


def _line_of(text: str, needle: str) -> int | None:
    for n, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return n
    return None


def load_mapping(path: Path, taxonomy: Taxonomy) -> MappingFile:
    """Read and validate a mapping file; every taxonomy path it names must be in the taxonomy."""
    text, data = load_yaml_mapping(path, what="mapping file", expected="a mapping with fields, values, defaults")
    try:
        mapping = MappingFile.model_validate(data)
    except ValidationError as e:
        raise pydantic_error_to_user_error(e, file=path) from None
    named = [(f"values.taxonomy.{k}", k, p) for k, p in mapping.values.taxonomy.items()]
    if mapping.defaults.taxonomy is not None:
        named.append(("defaults.taxonomy", "taxonomy", mapping.defaults.taxonomy))
    for field, key, p in named:
        if not p or len(p) > 3 or not taxonomy.contains(p):
            raise UserInputError(
                f"taxonomy path {'/'.join(p)!r} is not in the taxonomy",
                file=path,
                line=_line_of(text, key),
                field=field,
            )
    return mapping


def lookup(record: dict[str, Any], dotted: str) -> Any:
    """`a.b` looks up record['a']['b']; a key containing dots is tried whole first."""
    if dotted in record:
        return record[dotted]
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class PromptMapper:
    """Builds PromptRows from RawItems under one mapping; collects what it had to warn about."""

    def __init__(self, mapping: MappingFile | None, taxonomy: Taxonomy, *, file: Path) -> None:
        self.mapping = mapping or MappingFile()
        self.taxonomy = taxonomy
        self.file = file
        self.outside: set[str] = set()

    def _field(self, item: RawItem, name: str, default_keys: Sequence[str]) -> Any:
        chosen = getattr(self.mapping.fields, name)
        record = {**item.metadata, **item.fields}
        keys = [chosen] if chosen else list(default_keys)
        for key in keys:
            value = lookup(record, key)
            if value is not None and value != "":
                return value
        return None

    def _taxonomy(self, item: RawItem) -> Path3:
        raw = self._field(item, "taxonomy", ("taxonomy", "category"))
        maps = self.mapping.values.taxonomy
        default = self.mapping.defaults.taxonomy
        if maps:
            key = "/".join(split_path(raw)) if raw is not None else None
            if key is not None and key in maps:
                return maps[key]
            if default is not None:
                return default
            raise UserInputError(
                f"{item.where}: taxonomy value {key!r} has no entry in the mapping's values.taxonomy "
                "(add it, or set defaults.taxonomy)",
                file=self.file,
            )
        path = split_path(raw) if raw is not None else None
        if not path:
            if default is not None:
                return default
            raise UserInputError(
                f"{item.where}: no taxonomy (no 'taxonomy' or 'category' field); map one with --map FILE",
                file=self.file,
            )
        if len(path) > 3:
            raise UserInputError(
                f"{item.where}: taxonomy path {'/'.join(path)!r} has more than 3 levels", file=self.file
            )
        if not self.taxonomy.contains(path):
            self.outside.add("/".join(path))
        return path

    def _intent(self, item: RawItem) -> Intent:
        raw = self._field(item, "intent", ("intent",))
        if raw is None:
            if self.mapping.defaults.intent is not None:
                return self.mapping.defaults.intent
            raise UserInputError(
                f"{item.where}: no intent (no 'intent' field); name the field or set defaults.intent in --map FILE",
                file=self.file,
            )
        value = str(raw).strip()
        if value in self.mapping.values.intent:
            return self.mapping.values.intent[value]
        try:
            return Intent(value.lower())
        except ValueError:
            raise UserInputError(
                f"{item.where}: intent {value!r} is not safe, unsafe or adversarial (map it in values.intent)",
                file=self.file,
            ) from None

    def prompt_row(self, item: RawItem) -> PromptRow:
        technique = self._field(item, "technique", ("technique",)) or self.mapping.defaults.technique
        data: dict[str, Any] = {
            "id": item.prompt_id,
            "taxonomy": self._taxonomy(item),
            "intent": self._intent(item),
            "technique": str(technique) if technique is not None else None,
            "metadata": json.loads(json.dumps(item.metadata, ensure_ascii=False, default=str)),
        }
        if item.messages is not None:
            data["messages"] = item.messages
        else:
            data["prompt"] = item.prompt
        try:
            return PromptRow.model_validate(data)
        except ValidationError as e:
            err = pydantic_error_to_user_error(e, file=self.file)
            raise UserInputError(f"{item.where}: {err.message}", file=self.file, field=err.field) from None

    def warnings(self, path: Path | str) -> list[str]:
        if not self.outside:
            return []
        shown = sorted(self.outside)
        listed = ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
        return [
            f"{len(shown)} taxonomy path(s) are outside the taxonomy in use ({path}): {listed}; "
            "map them with --map FILE (values.taxonomy)"
        ]
