"""The `provenance` command line as a newcomer meets it: every command's help shows an
example, every command reports refusals through the one-line error printer, `--version`
answers, and a few refusals are one line with a hint and exit status 1."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from importlib import metadata

import pytest
import typer
from typer.testing import CliRunner

from ledger_client.terminal import clear_errors
from provenance.cli import app

pytestmark = pytest.mark.unit

runner = CliRunner()
# The code object every command wrapped by `clear_errors` runs first.
ONE_LINE_ERRORS = clear_errors(lambda: None).__code__


def commands(group: object = None, path: tuple[str, ...] = ()) -> Iterator[tuple[str, object]]:
    """Every runnable command of the app, as (`provenance …` path, click command)."""
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


COMMANDS = dict(commands())


def test_the_walk_finds_every_command_group():
    groups = {path.split()[0] for path in COMMANDS}
    assert {"serve", "demo", "lot", "credential", "token", "trail", "bridge", "index"} <= groups
    assert len(COMMANDS) >= 40


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_s_help_shows_an_example_of_itself(path):
    command = COMMANDS[path]
    assert "Example" in (command.help or ""), f"`provenance {path} --help` shows no example"
    assert f"provenance {path}" in command.help, f"the example does not run `provenance {path}`"
    result = runner.invoke(app, [*path.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout


def example_commands(help_text: str) -> list[list[str]]:
    """The `provenance …` command lines of a help text's example block, continuation lines
    joined and leading VARIABLE=value assignments dropped, each split as a shell would."""
    block = help_text.partition("Example")[2].partition("\b\n")[2]
    text = re.sub(r"\\\n\s*", " ", block.split("\n\n")[0])
    found = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        while words and re.match(r"[A-Z_]+=", words[0]):
            words = words[1:]
        if words[:1] == ["provenance"]:
            found.append(words[1:])
    return found


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_s_example_parses(path):
    command = COMMANDS[path]
    words = path.split()
    examples = [
        args for args in example_commands(command.help or "") if args[: len(words)] == words
    ]
    assert examples, f"`provenance {path} --help` has no example of `provenance {path}`"
    for args in examples:
        # Parsing only: a wrong option, a missing argument or a bad value raises here.
        command.make_context(f"provenance {path}", args[len(words) :])


def test_the_example_reader_joins_continued_lines():
    text = "Do it.\n\nExample:\n\n\b\n  A=1 provenance lot show X \\\n      --json\n"
    assert example_commands(text) == [["lot", "show", "X", "--json"]]
    commented = "Do it.\n\nExamples:\n\n\b\n  provenance demo   # then open the URLs\n"
    assert example_commands(commented) == [["demo"]]


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_goes_through_the_one_line_error_printer(path):
    callback = COMMANDS[path].callback
    codes = []
    while callback is not None:
        codes.append(callback.__code__)
        callback = getattr(callback, "__wrapped__", None)
    assert ONE_LINE_ERRORS in codes, f"`provenance {path}` is not wrapped in clear_errors"


def test_version_is_the_installed_distribution_s():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"provenance {metadata.version('provenance-ledger')}\n"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["lot", "show", "not-a-lot"],
         "error: 'not-a-lot' is not a GS1 Digital Link URI (https://id.gs1.org/01/{gtin}/10/{lot})"),
        (["prefix", "assign", "12", "0x12"],
         "error: GS1 company prefix '12' must be 6 to 12 digits (e.g. 9506000)"),
        (["events", "query", "-p", "foo"],
         "error: --param 'foo' is not NAME=VALUE (e.g. --param EQ_bizStep=shipping)"),
        (["trace", "x", "--depth", "ten"],
         "error: Invalid value for '--depth': Input should be a valid integer, unable to parse "
         "string as an integer (see `provenance trace --help`)"),
        (["no-such-command"],
         "error: No such command 'no-such-command'. (see `provenance --help`)"),
    ],
    ids=["lot", "prefix", "query parameter", "usage", "unknown command"],
)  # fmt: skip
def test_a_refusal_is_one_line_with_a_hint_and_exit_1(args, line, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args, prog_name="provenance")
    assert result.exit_code == 1, result.output
    assert result.stderr == line + "\n"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []
