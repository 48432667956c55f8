"""`pcf verify`: the on-pack URL (checked online), the compact offline code, the certificate, first-design codes."""

import subprocess

import httpx
import pytest
import qrcode
from PIL import Image
from typer.testing import CliRunner

from footprint_api.cli import app
from label_service import compact, scan
from label_service.qr import verification_url
from tests.labelling import GTIN, issued_label

runner = CliRunner()
SERVICE = "http://testserver"  # any host: the test transport hands every request to the test service
HOP_BY_HOP = {"content-encoding", "content-length", "transfer-encoding", "connection"}


def forwarding_to(world) -> httpx.MockTransport:
    """An HTTP transport that answers from the test service: same paths, no socket."""

    def handle(request: httpx.Request) -> httpx.Response:
        answer = world.client.request(request.method, request.url.raw_path.decode(), headers=request.headers)
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP]
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)

    return httpx.MockTransport(handle)


@pytest.fixture
def online(world, monkeypatch):
    """The CLI's client (timeouts, no automatic redirects) with the test service behind it."""
    monkeypatch.setattr(
        scan, "open_client", lambda: httpx.Client(transport=forwarding_to(world), follow_redirects=False)
    )


@pytest.fixture(scope="module")
def label(world) -> dict:
    """A label without GTIN and its public record (token, compact code)."""
    issued = issued_label(world, gtin=None)
    return {**issued, **world.client.get(f"/api/v1/public/labels/{issued['number']}").json()}


@pytest.fixture(scope="module")
def keys_file(world, tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "pcf-label-keys.json"
    path.write_bytes(world.client.get("/.well-known/pcf-label-keys.json").content)
    return path


def verify(*arguments) -> tuple[int, str]:
    result = runner.invoke(app, ["verify", *map(str, arguments)])
    return result.exit_code, result.output


def flip_one_byte(code: str) -> str:
    data = bytearray(compact.b45decode(code[len(compact.PREFIX) :]))
    data[len(data) // 2] ^= 0x01
    return compact.PREFIX + compact.b45encode(bytes(data))


def photo_of(text: str, path, angle: float = 6.0):
    """The code printed and photographed: modules of 6 px, slightly turned, on grey."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    code.add_data(text)
    picture = code.make_image().get_image().convert("L").rotate(angle, expand=True, fillcolor=200)
    picture.save(path)
    return path


def test_the_on_pack_url_is_checked_against_the_signed_statement_online(online, label):
    """The URL carries no signature: the CLI fetches the JWS and the keys from the service and checks both."""
    assert "#" not in label["qr_content"]
    code, output = verify(label["qr_content"])
    assert code == 0, output
    assert f"signature: OK (JWS, Ed25519 key {label['key_id']}" in output
    assert f"label {label['number']}: Ordinary Portland cement by acme" in output
    assert output.rstrip().endswith("status: VALID")


def test_a_photo_of_the_on_pack_code_is_checked_online(world, online, label, tmp_path):
    png = world.client.get(f"/labels/{label['number']}.png")
    assert png.status_code == 200
    (tmp_path / "label.png").write_bytes(png.content)
    code, output = verify(tmp_path / "label.png")
    assert code == 0 and "signature: OK (JWS" in output and output.rstrip().endswith("status: VALID"), output


def test_a_gs1_digital_link_is_checked_online(world, online):
    with_gtin = issued_label(world, gtin=GTIN)
    assert "/01/06901234567892?label=" in with_gtin["qr_content"]
    code, output = verify(with_gtin["qr_content"])
    assert code == 0 and f"label {with_gtin['number']}" in output and "status: VALID" in output, output


def test_the_compact_code_is_checked_offline_with_a_saved_key_set(label, keys_file):
    assert label["compact"].startswith("PCF1:")
    code, output = verify(label["compact"], "--keys", keys_file)
    assert code == 0, output
    assert f"signature: OK (compact code (COSE_Sign1), Ed25519 key {label['key_id']}" in output
    assert f"label {label['number']}: Ordinary Portland cement, " in output  # the compact code names no maker
    assert "status: not asked: the status (suspension, revocation) needs the service" in output


def test_the_compact_code_asks_the_status_of_the_service_given(online, label, keys_file):
    code, output = verify(label["compact"], "--service", SERVICE)
    assert code == 0 and output.rstrip().endswith("status: VALID"), output


def test_a_photo_of_the_compact_code_is_checked_offline(label, keys_file, tmp_path):
    code, output = verify(photo_of(label["compact"], tmp_path / "compact.png"), "--keys", keys_file, "--offline")
    assert code == 0 and "signature: OK (compact code" in output, output
    assert "status: not asked (offline)" in output


def test_a_tampered_compact_code_exits_2(label, keys_file):
    code, output = verify(flip_one_byte(label["compact"]), "--keys", keys_file)
    assert code == 2 and "signature does not match" in output, output


def test_a_scan_of_the_certificate_prefers_its_signed_codes(world, online, label, tmp_path):
    pdf = world.client.get(f"/labels/{label['number']}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "certificate.pdf").write_bytes(pdf.content)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", "certificate.pdf", "page"],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    code, output = verify(tmp_path / "page.png")
    assert code == 0 and "signature: OK (JWS" in output and output.rstrip().endswith("status: VALID"), output


def test_a_first_design_code_with_the_statement_in_its_fragment_still_works(label, keys_file):
    old = f"https://pcf.example.cn/verify/{label['number']}#jws={label['token']}"
    code, output = verify(old, "--keys", keys_file, "--offline")
    assert code == 0 and f"label {label['number']}" in output, output
    header, payload, signature = label["token"].split(".")
    payload = payload[:20] + ("A" if payload[20] != "A" else "B") + payload[21:]
    code, output = verify(
        old.replace(label["token"], f"{header}.{payload}.{signature}"), "--keys", keys_file, "--offline"
    )
    assert code == 2 and "signature does not match" in output, output


def test_a_revoked_label_exits_1(world, online):
    revoked = issued_label(world, gtin=None)
    world.call("cb-verifier", "POST", f"/api/v1/labels/{revoked['number']}/actions/revoke", json={"comment": "r"})
    code, output = verify(revoked["qr_content"])
    assert code == 1 and "status: REVOKED" in output, output


def test_a_url_offline_cannot_be_checked(label, keys_file):
    code, output = verify(label["qr_content"], "--keys", keys_file, "--offline")
    assert code == 2 and "holds only a URL" in output, output


def test_the_compact_code_without_keys_or_service_is_a_clear_error(label):
    code, output = verify(label["compact"])
    assert code == 2 and "no keys to check the signature with" in output, output


def test_a_redirect_off_the_services_host_is_not_followed(label, monkeypatch):
    def redirect(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "pcf.example.cn", "a request left the service's host"
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/keys.json"})

    monkeypatch.setattr(scan, "open_client", lambda: httpx.Client(transport=httpx.MockTransport(redirect)))
    code, output = verify(verification_url("https://pcf.example.cn", label["number"]))
    assert code == 2 and "redirected off its host" in output, output


def test_a_redirect_on_the_services_own_host_is_followed(world, label, monkeypatch):
    """A service that moved under a new path (e.g. behind a proxy) still answers through a relative redirect."""
    service = forwarding_to(world)

    def moved(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        if path.startswith("/old/"):
            return httpx.Response(301, headers={"Location": path.removeprefix("/old")})
        return service.handle_request(request)

    monkeypatch.setattr(scan, "open_client", lambda: httpx.Client(transport=httpx.MockTransport(moved)))
    code, output = verify(label["compact"], "--service", f"{SERVICE}/old")
    assert code == 0 and "status: VALID" in output, output


def test_an_image_without_a_code_is_a_clear_error(tmp_path, keys_file):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    code, output = verify(blank, "--offline", "--keys", keys_file)
    assert code == 2 and "no QR code found" in output, output
