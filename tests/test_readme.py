"""The README's commands, run as written: every fenced shell block runs in an empty folder
and prints what the README says it prints, unless an HTML comment right before it says why
it cannot (`<!-- not run: … -->`); the settings it and docs/ describe are the ones that
exist; its links point at files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHELL_LANGUAGES = {"sh", "shell", "bash", "console"}
NOT_RUN = re.compile(r"<!-- not run: (?P<reason>.+?) -->")
FENCE = re.compile(r"^```(?P<language>\S*)\n(?P<body>.*?)^```$", re.M | re.S)
# `…` in expected output stands for any text on that line (an address, a time).
ANY = "…"


@dataclass(frozen=True)
class Block:
    line: int
    language: str
    body: str
    not_run: str | None


def shell_blocks(text: str) -> list[Block]:
    """The fenced shell blocks of a Markdown text, each with the reason it is not run, if an
    HTML comment on the line right before its fence gives one."""
    blocks = []
    for fence in FENCE.finditer(text):
        if fence["language"] not in SHELL_LANGUAGES:
            continue
        before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marked = NOT_RUN.fullmatch(before.strip())
        blocks.append(
            Block(
                line=text.count("\n", 0, fence.start()) + 1,
                language=fence["language"],
                body=fence["body"],
                not_run=marked["reason"] if marked else None,
            )
        )
    return blocks


def session(body: str) -> list[tuple[str, list[str]]]:
    """A console block as (command, the lines it prints) pairs: `$ ` starts a command."""
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            assert steps, f"output before any command: {line!r}"
            steps[-1][1].append(line)
    return steps


def matches(expected: list[str], printed: str) -> bool:
    lines = printed.rstrip("\n").split("\n") if printed.strip() else []
    if len(lines) != len(expected):
        return False
    for want, got in zip(expected, lines, strict=True):
        pattern = ".+".join(re.escape(part) for part in want.split(ANY))
        if not re.fullmatch(pattern, got.rstrip()):
            return False
    return True


BLOCKS = shell_blocks(README.read_text())
RUN = [block for block in BLOCKS if block.not_run is None]


def test_the_blocks_not_run_are_few_and_say_why():
    reasons = [block.not_run for block in BLOCKS if block.not_run is not None]
    assert len(reasons) <= 3, reasons
    assert all(len(reason) > 10 for reason in reasons)
    assert RUN, "the README runs no command at all"


def test_a_block_that_is_run_is_a_console_session():
    for block in RUN:
        assert block.language == "console", f"line {block.line}: mark it or write `$ ` lines"
        assert session(block.body), f"line {block.line}: no `$ ` command"


@pytest.mark.parametrize("block", RUN, ids=[f"line {block.line}" for block in RUN])
def test_every_readme_command_prints_what_the_readme_says(block, tmp_path):
    # A user's shell after `make install`: the virtualenv's commands on PATH, no settings.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PROVENANCE_") or name == "PROVENANCE_REQUIRE_SERVICES"
    }
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", COLUMNS="200")
    for command, expected in session(block.body):
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        printed = result.stdout + result.stderr
        assert matches(expected, printed), (
            f"README line {block.line}: `{command}` printed\n{printed}\nthe README says\n"
            + "\n".join(expected)
        )
        refused = any(line.startswith("error: ") for line in expected)
        assert (result.returncode != 0) == refused, (command, result.returncode)


def test_the_matcher_can_fail():
    assert matches(["address      0x…"], "address      0xAB12\n")
    assert not matches(["address      0x…"], "address      0x\n")
    assert not matches(["a", "b"], "a\n")
    assert not matches(["provenance 0.1.0"], "provenance 0.2.0\n")


def settings_variables() -> set[str]:
    """Every PROVENANCE_* variable a settings class reads."""
    import api.config
    import credentials.config
    import ledger_client.config
    import oracle_bridge.config

    modules = (ledger_client.config, oracle_bridge.config, api.config, credentials.config)
    variables = set()
    for module in modules:
        for settings in vars(module).values():
            if not (isinstance(settings, type) and issubclass(settings, BaseSettings)):
                continue
            if settings is BaseSettings:
                continue
            prefix = settings.model_config.get("env_prefix", "")
            for name, field in settings.model_fields.items():
                if isinstance(field.validation_alias, str):
                    variables.add(field.validation_alias)
                elif not (
                    isinstance(field.annotation, type)
                    and issubclass(field.annotation, BaseSettings)
                ):
                    variables.add(f"{prefix}{name}".upper())
    return variables


def test_every_setting_is_described_in_the_readme_or_docs():
    text = README.read_text() + "".join(path.read_text() for path in (ROOT / "docs").glob("*.md"))
    described = set(re.findall(r"PROVENANCE_[A-Z0-9_]+", text))
    # `…_X` after a full name on its line abbreviates a prefix of that name.
    for line in text.splitlines():
        for full in re.findall(r"PROVENANCE_[A-Z0-9_]+", line):
            for short in re.findall(r"…_([A-Z0-9_]+)", line):
                cuts = [cut for cut, char in enumerate(full) if char == "_"]
                described.update(full[: cut + 1] + short for cut in cuts)
    variables = settings_variables()
    assert len(variables) > 30
    assert variables - described == set(), "settings no document names"


def test_every_relative_link_of_the_readme_and_docs_points_at_a_file():
    for document in [README, *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\((?!https?://)([^)#]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to {target}"
