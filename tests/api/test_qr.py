"""QR images of Digital Links: `GET /qr/…svg|png` and `provenance qr`."""

from __future__ import annotations

import segno
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from provenance.cli import app as cli
from tests.oracle_bridge.ingress.ingress_fakes import FakeIngestor

BASE = "https://scan.example.org"
GTIN = "09506000134352"


def client() -> TestClient:
    return TestClient(create_app(FakeIngestor(), public_base_url=BASE))


def modules(uri: str) -> tuple[bytes, ...]:
    return segno.make(uri, error="m", micro=False).matrix


def test_a_lots_svg_encodes_its_digital_link_on_the_public_base_url():
    response = client().get(f"/qr/01/{GTIN}/10/L%2F1.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    svg = response.text
    # The text alternative names what the code holds.
    assert f"<title>QR code of {BASE}/01/{GTIN}/10/L%2F1</title>" in svg
    assert f"<desc>{BASE}/01/{GTIN}/10/L%2F1</desc>" in svg


def test_png_items_and_products_have_images_too():
    with client() as http:
        for path in (f"/qr/01/{GTIN}/21/S1.png", f"/qr/01/{GTIN}.png"):
            response = http.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"] == "image/png"
            assert response.content.startswith(b"\x89PNG")


def test_images_are_cached_by_etag():
    with client() as http:
        first = http.get(f"/qr/01/{GTIN}/10/L1.svg")
        assert "max-age" in first.headers["cache-control"]
        again = http.get(
            f"/qr/01/{GTIN}/10/L1.svg", headers={"If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.content == b""
        other = http.get(
            f"/qr/01/{GTIN}/10/L2.svg", headers={"If-None-Match": first.headers["etag"]}
        )
        assert other.status_code == 200


def test_bad_identifiers_and_types_are_refused():
    with client() as http:
        bad_digit = http.get("/qr/01/09506000134353/10/L1.svg")
        assert bad_digit.status_code == 400
        assert "check digit" in bad_digit.json()["detail"]
        short = http.get("/qr/01/9506000134352/10/L1.svg")
        assert short.status_code == 400
        assert f"/01/{GTIN}/10/L1" in short.json()["detail"]
        assert http.get(f"/qr/01/{GTIN}/10/L1.gif").status_code == 404
        assert http.get(f"/qr/01/{GTIN}/10/{'x' * 21}.svg").status_code == 400


def test_the_command_draws_the_code_or_writes_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PROVENANCE_PUBLIC_BASE_URL", BASE)
    runner = CliRunner()
    drawn = runner.invoke(cli, ["qr", f"https://id.gs1.org/01/{GTIN}/10/L1"])
    assert drawn.exit_code == 0, drawn.output
    assert f"{BASE}/01/{GTIN}/10/L1" in drawn.output
    # Half-height blocks: one text line per two rows of modules, quiet zone included.
    size = len(modules(f"{BASE}/01/{GTIN}/10/L1")) + 8
    drawing = [line for line in drawn.output.splitlines() if len(line) == size]
    assert len(drawing) == (size + 1) // 2

    svg = tmp_path / "lot.svg"
    written = runner.invoke(cli, ["qr", f"/01/{GTIN}/10/L1", "--output", str(svg)])
    assert written.exit_code == 0, written.output
    assert f"<desc>{BASE}/01/{GTIN}/10/L1</desc>" in svg.read_text()


def test_the_command_refuses_a_bad_link_or_file_type(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(cli, ["qr", "/01/09506000134353/10/L1"])
    assert bad.exit_code == 1
    assert "check digit" in bad.output
    gif = runner.invoke(cli, ["qr", f"/01/{GTIN}/10/L1", "-o", str(tmp_path / "x.gif")])
    assert gif.exit_code == 1
    assert not (tmp_path / "x.gif").exists()
