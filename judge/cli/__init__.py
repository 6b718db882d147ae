"""The `judge` command line: registers the command modules; each command parses, calls one function, prints.

Start-up is kept short (`judge --help` and `--version`, see scripts/bench_startup.py): command modules
import only typer and the standard library at module level; everything heavy (duckdb, pydantic,
rich, litellm, the pipeline) is imported inside the command functions.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

# Command modules, in the order of `judge --help`. Each defines `register(app)`, which adds its
# commands (or its sub-app). A name listed here that does not import is an error, never skipped.
COMMAND_MODULES: list[str] = [
    "run_cmd",
    "sql_cmd",
    "analysis_cmd",
    "compare_cmd",
    "nightly_cmd",
    "prompts_cmd",
    "gold_cmd",
    "view_cmd",
    "calibrate_cmd",
    "show_cmd",
    "import_cmd",
]

HELP = "LLM-as-judge grading pipeline for AI safety evaluations."


def build_app() -> typer.Typer:
    """The typer app with every command module registered."""
    import importlib

    import typer

    app = typer.Typer(
        name="judge",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    ) -> None:
        """LLM-as-judge grading pipeline for AI safety evaluations."""

    for name in COMMAND_MODULES:
        importlib.import_module(f"judge.cli.{name}").register(app)
    return app


def _version(value: bool) -> None:
    if value:
        import typer

        print(_version_line())
        raise typer.Exit()


def _version_line() -> str:
    from judge import __version__

    return f"judge {__version__}"


def __getattr__(name: str) -> object:
    """`judge.cli.app` builds the app on first use (tests and `python -m judge` use it)."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


def _stop_on_sigterm() -> None:
    """SIGTERM (a cron timeout, a container stop) ends a run like Ctrl-C: it is recorded as stopped."""
    import signal

    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the final write short
        # As SIGINT: inside asyncio.run that cancels the main task cleanly, elsewhere KeyboardInterrupt.
        signal.raise_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, handler)


def _quiet_abandoned_litellm_coroutines() -> None:
    """Hide litellm's "coroutine '...acompletion' was never awaited" noise after a stop or an abort.

    litellm's `acompletion` builds the provider coroutine in a thread executor and awaits it after;
    when the run cancels its tasks (bad credentials, a budget, Ctrl-C) while that thread runs, the
    coroutine it returns is dropped unawaited. Nothing is lost (the item is re-planned by the next
    run), so the warning only alarms. Only these litellm coroutines are silenced.
    """
    import warnings

    warnings.filterwarnings(
        "ignore",
        message=r"coroutine '\w+(Completion|Chat\w*|Messages\w*)\.a\w+' was never awaited",
        category=RuntimeWarning,
    )


def main() -> None:
    """Entry point: user errors print one line and exit 2; an aborted run exits 3."""
    if sys.argv[1:] == ["--version"]:  # answered before typer is even imported
        print(_version_line())
        return
    from judge.cli.output import literal
    from judge.errors import DatabaseBusy, RunAborted, UserInputError

    _stop_on_sigterm()
    _quiet_abandoned_litellm_coroutines()
    try:
        build_app()()
    except UserInputError as e:
        print(f"error: {literal(e.one_line())}", file=sys.stderr)
        sys.exit(e.exit_code)
    except RunAborted as e:
        print(f"run aborted: {literal(e)}", file=sys.stderr)
        sys.exit(RunAborted.exit_code)
    except DatabaseBusy as e:
        print(f"error: {literal(e)}", file=sys.stderr)
        sys.exit(DatabaseBusy.exit_code)
