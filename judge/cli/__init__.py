"""The `judge` command line. Heavy modules (litellm, the pipeline) are imported inside commands."""

from __future__ import annotations

import sys

import typer

from judge.errors import RunAborted, UserInputError

app = typer.Typer(
    name="judge",
    help="LLM-as-judge grading pipeline for AI safety evaluations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Command modules: each defines `register(app)`. Sub-apps (typer groups) define `app` and are
# mounted under their name.
COMMAND_MODULES = ("run_cmd", "sql_cmd", "analysis_cmd", "compare_cmd", "nightly_cmd", "import_cmd")
SUBAPPS = {"prompts": "prompts_cmd", "gold": "gold_cmd"}


def _version(value: bool) -> None:
    if value:
        from judge import __version__

        print(f"judge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """LLM-as-judge grading pipeline for AI safety evaluations."""


def _register() -> None:
    import importlib
    from importlib.util import find_spec

    for name in COMMAND_MODULES:
        if find_spec(f"judge.cli.{name}") is not None:
            importlib.import_module(f"judge.cli.{name}").register(app)
    for group, name in SUBAPPS.items():
        if find_spec(f"judge.cli.{name}") is not None:
            app.add_typer(importlib.import_module(f"judge.cli.{name}").app, name=group)


_register()


def _stop_on_sigterm() -> None:
    """SIGTERM (a cron timeout, a container stop) ends a run like Ctrl-C: it is recorded as stopped."""
    import signal

    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut the final write short
        # As SIGINT: inside asyncio.run that cancels the main task cleanly, elsewhere KeyboardInterrupt.
        signal.raise_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, handler)


def main() -> None:
    """Entry point: user errors print one line and exit 2; an aborted run exits 3."""
    _stop_on_sigterm()
    try:
        app()
    except UserInputError as e:
        print(f"error: {e.one_line()}", file=sys.stderr)
        sys.exit(e.exit_code)
    except RunAborted as e:
        print(f"run aborted: {e}", file=sys.stderr)
        sys.exit(RunAborted.exit_code)
