"""`pcf verify`: a label photo or code text, checked offline with the published keys, then online."""

from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from footprint_api.cli import app
from tests.labelling import issued_label
from tests.test_labels import flip_one_payload_byte

runner = CliRunner()


@pytest.fixture
def online(world, monkeypatch):
    """The CLI's HTTP requests go to the test service (same paths, no socket)."""
    monkeypatch.setattr(httpx, "get", lambda url, timeout=None: world.client.get(urlsplit(url).path))


@pytest.fixture
def label_png(world, tmp_path):
    label = issued_label(world, gtin=None)
    path = tmp_path / "label.png"
    path.write_bytes(world.client.get(f"/labels/{label['number']}.png").content)
    return label, path


def test_a_photo_of_a_valid_label_passes(online, label_png):
    label, path = label_png
    result = runner.invoke(app, ["verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "signature: OK" in result.output and f"label {label['number']}" in result.output
    assert result.output.rstrip().endswith("status: VALID")


def test_offline_with_saved_keys_needs_no_service(world, label_png, tmp_path):
    label, path = label_png
    keys = tmp_path / "keys.json"
    keys.write_bytes(world.client.get("/.well-known/pcf-label-keys.json").content)
    result = runner.invoke(app, ["verify", str(path), "--keys", str(keys), "--offline"])
    assert result.exit_code == 0 and "status: not asked (offline)" in result.output
    tampered = label["qr_content"].replace(label["token"], flip_one_payload_byte(label["token"]))
    result = runner.invoke(app, ["verify", tampered, "--keys", str(keys), "--offline"])
    assert result.exit_code == 2 and "signature does not match" in result.output


def test_a_revoked_label_exits_1(world, online, label_png):
    label, path = label_png
    world.call("cb-verifier", "POST", f"/api/v1/labels/{label['number']}/actions/revoke", json={"comment": "r"})
    result = runner.invoke(app, ["verify", str(path)])
    assert result.exit_code == 1 and "status: REVOKED" in result.output


def test_an_image_without_a_code_is_a_clear_error(tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    result = runner.invoke(app, ["verify", str(blank), "--offline", "--keys", str(blank)])
    assert result.exit_code == 2 and "no QR code found" in result.output
