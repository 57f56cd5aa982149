"""How the commands print: one JSON document, or lines and tables for people."""

from __future__ import annotations

import json

import typer
from rich.text import Text

from ledger_client.terminal import console, errors


def abbreviated(did: str) -> str:
    """A DID shortened for a table: its method, the start and the end of its identifier."""
    method, _, identifier = did.rpartition(":")
    if len(identifier) <= 14:
        return did
    return f"{method}:{identifier[:6]}…{identifier[-4:]}"


def hex_of(digest: bytes) -> str:
    return "0x" + digest.hex()


def print_json(document: object) -> None:
    typer.echo(json.dumps(document, indent=2))


def line(text: str) -> None:
    console.print(Text(text), highlight=False, soft_wrap=True)


def note(text: str) -> None:
    errors.print(Text(text), highlight=False, soft_wrap=True)
