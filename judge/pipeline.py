"""`judge run`: load and validate everything, then generate → judge → store, resumably."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge import __version__
from judge.config import Budget, LoadedConfig, ModelSpec, load_config
from judge.errors import DatabaseBusy, ExitCode, RunAborted, UserInputError, run_exit_code
from judge.prompts.loader import PromptScan, load_prompt_sets, rescan_rows, scan_prompt_sets
from judge.prompts.model import PromptRow
from judge.providers.base import JudgeModel, TargetModel, utcnow
from judge.providers.errors import FatalProviderError
from judge.providers.registry import resolve_judge, resolve_target
from judge.rubric import Rubric, load_rubric
from judge.secrets import redact
from judge.stages.context import BudgetExceeded, BudgetMeter, RunContext
from judge.stages.generate import generate_stage
from judge.stages.grade import grade_stage
from judge.stages.load import stream_prompts
from judge.stages.progress import NullProgress, ProgressSink
from judge.stages.setup import check_keys, write_rubric, write_run_models
from judge.store.db import check_writable_database, read_connection
from judge.store.rows import RunRow
from judge.store.runs import (
    find_resumable_run,
    new_run_id,
    run_finished_at,
    run_item_counts,
    run_started_at,
    stable_hash,
)
from judge.store.writer import StoreWriter

BUSY_REASON = "database busy: finished work kept in the journal; the next run writes it first"


@dataclass
class PromptSource:
    """The run's prompts as validated: counts and hashes in memory, the rows re-read when stored.

    A sampled run keeps its (sampled) rows in memory instead: sampling needs every row at once.
    """

    scan: PromptScan
    sampled: list[PromptRow] | None = None

    @property
    def count(self) -> int:
        return self.scan.count

    def rows(self) -> Iterator[PromptRow]:
        return iter(self.sampled) if self.sampled is not None else rescan_rows(self.scan)

    @property
    def source(self) -> str:
        return ",".join(str(p) for p in self.scan.paths)


def _prompt_source(loaded: LoadedConfig) -> PromptSource:
    cfg = loaded.config
    paths = list(loaded.prompt_paths)
    if cfg.sample is None:
        return PromptSource(scan_prompt_sets(paths))
    from judge.prompts.sample import sample_prompts

    rows = sample_prompts(load_prompt_sets(paths), cfg.sample.n, list(cfg.sample.stratify), cfg.sample.seed)
    return _in_memory(rows, paths)


def _in_memory(rows: list[PromptRow], paths: list[Path]) -> PromptSource:
    """Prompts held in memory (a sample, or the prompts of an import) as a PromptSource."""
    scan = PromptScan([Path(p) for p in paths], len(rows), sorted(p.content_hash for p in rows))
    for p in rows:
        scan.taxonomy_ids.setdefault(p.taxonomy, []).append(p.id)
    return PromptSource(scan, rows)


@dataclass
class RunPlan:
    """Everything validated before anything is written."""

    loaded: LoadedConfig
    rubric: Rubric
    prompts: PromptSource
    targets: list[TargetModel]
    judges: list[JudgeModel]
    fingerprint: str
    warnings: list[str] = field(default_factory=list)
    source: Any = None  # a validated import (judge.sources) when the config has `source:` instead of targets

    @property
    def models(self) -> list[TargetModel | JudgeModel]:
        return [*self.targets, *self.judges]

    @property
    def offline_providers(self) -> list[str]:
        return [m.spec.model for m in self.models if m.offline]


@dataclass
class RunOutcome:
    run_id: str
    db_path: Path
    resumed: bool
    status: str
    offline_providers: list[str]
    remote_providers: list[str]
    counts: dict[str, int]
    reason: str | None = None
    remote_calls: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0

    @property
    def exit_code(self) -> ExitCode:
        return run_exit_code(self.status, self.reason)


def plan_run(config_path: str | Path, *, db_override: str | Path | None = None) -> RunPlan:
    loaded = load_config(config_path, db_override=db_override)
    check_writable_database(loaded.db_path)  # a folder, a foreign file, a newer schema: one line, nothing written
    rubric = load_rubric(loaded.rubric_path)
    cfg = loaded.config
    source = _plan_source(loaded) if cfg.source is not None else None
    prompts = (
        _in_memory(list({p.content_hash: p for _, p in source.rows}.values()), []) if source else _prompt_source(loaded)
    )
    check_keys(
        [(f"{role}.{n}.api_key_env", s) for role in ("targets", "judges") for n, s in enumerate(getattr(cfg, role))],
        file=loaded.path,
    )
    targets = [_resolved(loaded, "targets", n, resolve_target, s) for n, s in enumerate(cfg.targets)]
    judges = [_resolved(loaded, "judges", n, resolve_judge, s) for n, s in enumerate(cfg.judges)]
    for model in [*targets, *judges]:
        preflight = getattr(model, "preflight", None)
        if preflight is not None:
            preflight()  # e.g. a replay target's recordings are read and checked before anything is written
    fingerprint = stable_hash(
        loaded.config_hash,
        rubric.version,
        prompts.scan.content_hashes,
        [str(getattr(m, "impl_version", "")) for m in [*targets, *judges]],
        source.import_key if source else None,
    )
    warnings = source.warnings if source else _taxonomy_warnings(prompts.scan, loaded.taxonomy_path)
    return RunPlan(loaded, rubric, prompts, targets, judges, fingerprint, warnings, source)


def _plan_source(loaded: LoadedConfig) -> Any:
    from judge.sources.spec import plan_source

    assert loaded.config.source is not None
    return plan_source(
        loaded.config.source,
        name=loaded.config.name,
        rubric_path=loaded.rubric_path,
        taxonomy_path=loaded.taxonomy_path,
    )


def _resolved(loaded: LoadedConfig, role: str, n: int, resolve: Any, spec: ModelSpec) -> Any:
    try:
        return resolve(spec)
    except UserInputError as e:
        raise UserInputError(e.message, file=loaded.path, field=f"{role}.{n}.model") from None


def _taxonomy_warnings(scan: PromptScan, taxonomy_path: Path | None) -> list[str]:
    """Any taxonomy path is accepted; paths outside the taxonomy in use are reported once (one rule: taxonomy.py)."""
    from judge.prompts.taxonomy import default_taxonomy_path, grouped_paths_outside, load_taxonomy, outside_message

    path = taxonomy_path or default_taxonomy_path()
    if taxonomy_path is None and not path.is_file():
        return []
    message = outside_message(grouped_paths_outside(scan.taxonomy_ids, load_taxonomy(path)), path)
    return [message] if message else []


def _write_run_header(writer: StoreWriter, plan: RunPlan, run_id: str, started_at: Any) -> None:
    """The rubric, the models and the run row; the prompts follow in batches (judge.stages.load)."""
    write_rubric(writer, plan.rubric, plan.loaded.rubric_path)
    write_run_models(writer, run_id, "target", plan.targets)
    write_run_models(writer, run_id, "judge", plan.judges, plan.rubric.version)
    writer.add("runs", _runs_row(plan, run_id, "running", started_at=started_at), journal=False)
    writer.flush()


def _runs_row(
    plan: RunPlan, run_id: str, status: str, reason: str | None = None, started_at: Any = None, finished: bool = False
) -> dict[str, Any]:
    cfg = plan.loaded.config
    return RunRow(
        run_id=run_id,
        name=cfg.name,
        fingerprint=plan.fingerprint,
        config_path=str(plan.loaded.path),
        config_json=json.dumps(cfg.model_dump(mode="json"), sort_keys=True),
        rubric_version=plan.rubric.version,
        started_at=started_at or utcnow(),
        finished_at=utcnow() if finished else None,
        status=status,
        status_reason=reason,
        offline_providers=json.dumps(plan.offline_providers),
        judge_version=__version__,
    ).as_row()


def _started_at(db_path: Path, run_id: str) -> Any:
    with read_connection(db_path) as con:
        return run_started_at(con, run_id)


def _finished_at(db_path: Path, run_id: str) -> Any:
    with read_connection(db_path) as con:
        return run_finished_at(con, run_id)


def _open_items(db_path: Path, run_id: str) -> dict[str, int]:
    with read_connection(db_path) as con:
        return run_item_counts(con, run_id)


def _choose_run(plan: RunPlan, *, new_run: bool, run_id: str | None) -> tuple[str, bool]:
    """(run id, resumed): the given run, else the latest identical run unless new_run, else a new one."""
    if run_id is not None:
        return run_id, True
    if not new_run:
        with read_connection(plan.loaded.db_path) as con:
            found = find_resumable_run(con, plan.loaded.config.name, plan.fingerprint)
        if found is not None:
            return found, True
    return new_run_id(plan.loaded.config.name, utcnow()), False


def _stages_outcome(ctx: RunContext, plan: RunPlan) -> tuple[str, str | None]:
    """Run both stages; return how the run ended (status, reason). Unexpected errors propagate."""
    # Everything set up so far lives as long as the run: out of the collector's sight, a full
    # collection does not walk it again and again while answers stream in (client CPU per call)
    gc.collect()
    gc.freeze()
    try:
        asyncio.run(_run_stages(ctx, plan))
    except FatalProviderError as exc:
        return "aborted", str(exc)
    except BudgetExceeded as exc:
        return "stopped", f"{exc}; rerun to continue"
    except KeyboardInterrupt:
        return "stopped", "interrupted"
    finally:
        gc.unfreeze()
    return "complete", None


def execute(
    plan: RunPlan,
    *,
    new_run: bool = False,
    run_id: str | None = None,
    retry_errors: bool = True,
    progress: ProgressSink | None = None,
    budget: Budget | None = None,
) -> RunOutcome:
    """Generate and judge what the run is missing; the run's final status is always recorded."""
    db_path = plan.loaded.db_path
    cfg = plan.loaded.config
    imported_now = False
    if plan.source is not None and run_id is None:
        from judge.sources.spec import write_source

        run_id, imported_now = write_source(db_path, plan.source)  # the answers' run (found again if unchanged)
    with StoreWriter(db_path) as writer:
        run_id, resumed = _choose_run(plan, new_run=new_run, run_id=run_id)
        resumed = resumed and not imported_now
        writer.bind_run(run_id)
        started = (_started_at(db_path, run_id) if resumed else None) or utcnow()
        # a rerun that finds nothing to do keeps the time the run's work last finished
        before = (_open_items(db_path, run_id), _finished_at(db_path, run_id)) if resumed else None
        _write_run_header(writer, plan, run_id, started)
        ctx = RunContext(
            run_id,
            plan.rubric,
            writer,
            progress or NullProgress(),
            retry_errors,
            reuse_verdicts=cfg.reuse_verdicts,
            reuse_responses=cfg.reuse_responses,
            meter=BudgetMeter(budget or cfg.budget),
        )
        status: str = "failed"
        reason: str | None = "unexpected error"
        try:
            status, reason = _stages_outcome(ctx, plan)
        except BaseException as exc:  # a bug or an unexpected failure: never recorded as complete
            reason = f"{type(exc).__name__}: {redact(str(exc))}"
            raise
        finally:
            try:
                writer.drain()  # waits for a busy database; DatabaseBusy (exit 6) keeps the journal
            except DatabaseBusy:
                writer.add("runs", _runs_row(plan, run_id, "busy", BUSY_REASON, started_at=started, finished=True))
                raise
            counts = _open_items(db_path, run_id)
            retryable = counts["verdict_errors"] + (0 if plan.source else counts["response_errors"])
            if status == "complete" and retryable:  # imported answers that are errors cannot be retried
                status, reason = "incomplete", "some items ended as errors (the summary says which a rerun retries)"
            row = _runs_row(plan, run_id, status, reason, started_at=started, finished=True)
            if before is not None and before[0] == counts and before[1] is not None:
                row["finished_at"] = before[1]
            writer.write_now("runs", [row])
    if status == "aborted":
        raise RunAborted(reason)
    remote = [m.spec.model for m in plan.models if not m.offline]
    return RunOutcome(
        run_id,
        db_path,
        resumed,
        status,
        plan.offline_providers,
        remote,
        counts,
        reason,
        ctx.meter.calls,
        ctx.meter.cost_usd,
        ctx.meter.unpriced_calls,
    )


async def _run_stages(ctx: RunContext, plan: RunPlan) -> None:
    prompts = stream_prompts(ctx, plan.prompts.rows(), plan.prompts.source)
    await generate_stage(ctx, plan.targets, prompts, plan.prompts.count)
    await grade_stage(ctx, plan.judges)
