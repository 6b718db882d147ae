"""The hazard taxonomy (prompts/taxonomy.yaml): three levels, hazard > topic > subtopic."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from judge.errors import pydantic_error_to_user_error
from judge.yaml_files import load_yaml_mapping

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_TAXONOMY = Path("prompts") / "taxonomy.yaml"
# The copy shipped in the source tree (used when the cwd has no prompts/taxonomy.yaml).
_REPO_TAXONOMY = Path(__file__).resolve().parents[2] / "prompts" / "taxonomy.yaml"


def _check_ids(ids: Sequence[str]) -> None:
    for i in ids:
        if not _ID.match(i):
            raise ValueError(f"id {i!r} is not snake_case (expected [a-z][a-z0-9_]*)")


class Topic(BaseModel):
    """A level-2 topic with its level-3 subtopics (id -> label)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    topics: dict[str, str] = Field(default_factory=dict)

    @field_validator("topics")
    @classmethod
    def _snake_ids(cls, v: dict[str, str]) -> dict[str, str]:
        _check_ids(list(v))
        if any(not label.strip() for label in v.values()):
            raise ValueError("every level-3 topic needs a non-empty label")
        return v


class Hazard(BaseModel):
    """A level-1 hazard with its level-2 topics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    topics: dict[str, Topic] = Field(default_factory=dict)

    @field_validator("topics")
    @classmethod
    def _snake_ids(cls, v: dict[str, Topic]) -> dict[str, Topic]:
        _check_ids(list(v))
        return v


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    hazards: tuple[str, ...] = Field(min_length=1)


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    groups: dict[str, Group]
    hazards: dict[str, Hazard] = Field(min_length=1)

    @field_validator("hazards", "groups")
    @classmethod
    def _snake_ids(cls, v: dict[str, object]) -> dict[str, object]:
        _check_ids(list(v))
        return v

    @model_validator(mode="after")
    def _every_hazard_in_one_group(self) -> Taxonomy:
        seen: dict[str, str] = {}
        for gid, group in self.groups.items():
            for h in group.hazards:
                if h not in self.hazards:
                    raise ValueError(f"group {gid!r} lists unknown hazard {h!r}")
                if h in seen:
                    raise ValueError(f"hazard {h!r} is in two groups ({seen[h]!r} and {gid!r})")
                seen[h] = gid
        ungrouped = [h for h in self.hazards if h not in seen]
        if self.groups and ungrouped:
            raise ValueError(f"hazard {ungrouped[0]!r} is in no group")
        return self

    # --- queries -------------------------------------------------------------------------
    def contains(self, path: Sequence[str]) -> bool:
        """True when `path` (1 to 3 levels) names a node of the taxonomy."""
        if not 1 <= len(path) <= 3:
            return False
        hazard = self.hazards.get(path[0])
        if hazard is None:
            return False
        if len(path) == 1:
            return True
        topic = hazard.topics.get(path[1])
        if topic is None:
            return False
        return len(path) == 2 or path[2] in topic.topics

    def label(self, path: Sequence[str]) -> str:
        """The human label of the node at `path` (KeyError when it is not in the taxonomy)."""
        if not self.contains(path):
            raise KeyError("/".join(path))
        hazard = self.hazards[path[0]]
        if len(path) == 1:
            return hazard.label
        topic = hazard.topics[path[1]]
        return topic.label if len(path) == 2 else topic.topics[path[2]]

    def group_of(self, hazard: str) -> str | None:
        for gid, group in self.groups.items():
            if hazard in group.hazards:
                return gid
        return None

    def level1(self) -> list[str]:
        return list(self.hazards)

    def level2(self) -> list[tuple[str, str]]:
        return [(h, t) for h, hz in self.hazards.items() for t in hz.topics]

    def paths(self) -> Iterator[tuple[str, ...]]:
        """Every node, depth-first: (l1,), (l1, l2), (l1, l2, l3), ..."""
        for h, hazard in self.hazards.items():
            yield (h,)
            for t, topic in hazard.topics.items():
                yield (h, t)
                for s in topic.topics:
                    yield (h, t, s)


def default_taxonomy_path() -> Path:
    """prompts/taxonomy.yaml under the cwd, else the copy in the source tree."""
    if DEFAULT_TAXONOMY.is_file():
        return DEFAULT_TAXONOMY
    return _REPO_TAXONOMY


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy YAML file; raise UserInputError naming the file and field."""
    p = Path(path) if path is not None else default_taxonomy_path()
    _, raw = load_yaml_mapping(p, what="taxonomy", expected="a mapping with 'name', 'groups' and 'hazards'")
    try:
        return Taxonomy.model_validate(raw)
    except ValidationError as e:
        raise pydantic_error_to_user_error(e, file=p) from None


# --- the one rule for paths outside the taxonomy -------------------------------------------------
# A prompt's taxonomy path that is not a node of the taxonomy in use is accepted everywhere (runs,
# `judge prompts check`, `judge prompts import`) and reported as a warning, listing the paths;
# `judge prompts check --strict` turns it into an error. Reports group such prompts under their own
# level 1 like any other hazard.
def paths_outside(paths: Iterable[tuple[str, Sequence[str]]], taxonomy: Taxonomy) -> dict[str, list[str]]:
    """{'a/b': [prompt ids]} for each (id, path) whose path is not in `taxonomy`, in first-seen order."""
    grouped: dict[tuple[str, ...], list[str]] = {}
    for pid, path in paths:
        grouped.setdefault(tuple(path), []).append(pid)
    return grouped_paths_outside(grouped, taxonomy)


def grouped_paths_outside(ids_by_path: Mapping[tuple[str, ...], list[str]], taxonomy: Taxonomy) -> dict[str, list[str]]:
    """paths_outside for ids already grouped by path (each distinct path is looked up once)."""
    outside: dict[str, list[str]] = {}
    for path, ids in ids_by_path.items():
        if not taxonomy.contains(path):
            outside.setdefault("/".join(path), []).extend(ids)
    return outside


def outside_message(outside: dict[str, list[str]], where: str | Path) -> str | None:
    """One warning line naming the paths outside the taxonomy (None when there are none)."""
    if not outside:
        return None
    names = sorted(outside)
    shown = ", ".join(f"{p} ({len(outside[p])})" for p in names[:5])
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    n = sum(len(ids) for ids in outside.values())
    return (
        f"{n} prompt(s) use {len(names)} taxonomy path(s) outside the taxonomy in use ({where}): {shown}{more}; "
        "accepted, reported under their own level 1"
    )
