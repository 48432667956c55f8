"""The certificate document (A4 PDF) and the issuance that stores it beside the label files."""

import io
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from pypdf import PdfReader

from label_service import compact
from label_service.certificate import MIN_MODULE_MM, render_certificate, statement_code
from label_service.claim import LabelFacts, build_claim
from label_service.issuance import issue_files
from label_service.qr import verification_url
from label_service.render import SIZES, find_font
from label_service.signing import key_id, sign
from label_service.storage import LocalObjectStore, StorageError

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
HOSTILE_NAME = '<img src="x"/> & <b>水泥</b> P·O 42.5'  # markup in a name must print as text


def facts(product: str = "Ordinary Portland cement", gtin: str | None = "6901234567892") -> LabelFacts:
    return LabelFacts(
        number="PCF-2026-000123-F",
        product=product,
        model="P.O 42.5 (GB 175)",
        gtin=gtin,
        manufacturer="Demo Manufacturing Group",
        total_kg_co2e=11172.97,
        declared_unit="1 t",
        pcr_id="PCR-CN-CEMENT",
        pcr_version="1.0.0",
        standard="GB/T 24067-2024 (ISO 14067:2018)",
        issuer_name="Demo Certification Body",
        issuer_id="cb-1",
        issued=date(2026, 3, 1),
        expires=date(2029, 2, 28),
        factor_set="CN-2024.1",
    )


def certificate(product: str = "Ordinary Portland cement") -> tuple[bytes, dict]:
    label = facts(product)
    statement = sign(build_claim(label), KEY)
    url = verification_url("https://pcf.example.cn", label.number, label.gtin)
    code = compact.encode(statement.claim, KEY)
    pdf = render_certificate(statement, url, code, find_font())
    return pdf, {"url": url, "compact": code, "token": statement.token}


def page_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def rasterised(pdf: bytes, tmp_path: Path, dpi: int = 100) -> Image.Image:
    """What a printer or a scanner makes of the page: poppler's pdftoppm (Debian poppler-utils)."""
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "certificate.pdf", "page"],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    return Image.open(tmp_path / "page.png")


def test_the_certificate_is_one_a4_page():
    box = PdfReader(io.BytesIO(certificate()[0])).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # 210 x 297 mm at 72 pt an inch


def test_the_certificate_states_the_label_in_both_languages():
    pdf, codes = certificate()
    text = page_text(pdf)
    for expected in (
        "碳足迹标签证书",
        "Carbon Footprint Label Certificate",
        "PCF-2026-000123-F",
        "Ordinary Portland cement (P.O 42.5 (GB 175))",
        "Demo Manufacturing Group",
        "11,170 kg CO2e",
        "per 1 t",
        "PCR-CN-CEMENT 1.0.0",
        "GB/T 24067-2024 (ISO 14067:2018)",
        "Demo Certification Body",
        "2026-03-01 – 2029-02-28",
        "CN-2024.1",
        key_id(KEY.public_key()),
        "scan to check status online",
        "offline check (signed, CBOR/COSE)",
    ):
        assert expected in text, expected
    assert codes["url"] in "".join(text.split())  # printed under its code, wrapped


def test_the_full_signed_statement_is_printed_as_text():
    pdf, codes = certificate()
    assert codes["token"] in "".join(page_text(pdf).split())


def test_the_gtin_is_printed_as_on_the_pack_and_the_figure_by_the_labels_rule():
    """Defect 8: the service stores GTIN-14 (06901234567892); the certificate prints the pack's EAN-13, as the
    verification page does. The figure: 11172.97 -> 4 significant digits 1117|2.97 -> 11170, grouped 11,170."""
    label = replace(facts(), gtin="06901234567892")
    statement = sign(build_claim(label), KEY)
    url = verification_url("https://pcf.example.cn", label.number, label.gtin)
    text = page_text(render_certificate(statement, url, compact.encode(statement.claim, KEY), find_font()))
    assert "GTIN 6901234567892" in text and "GTIN 06901234567892" not in text
    assert "11,170 kg CO2e" in text


def test_markup_in_a_product_name_is_printed_as_text():
    text = page_text(certificate(HOSTILE_NAME)[0])
    assert '<img src="x"/> & <b>水泥</b> P·O 42.5' in text


def test_a_scan_of_the_printed_page_finds_the_url_code_and_the_compact_code(tmp_path):
    pdf, codes = certificate()
    found = {
        code.text for code in zxingcpp.read_barcodes(rasterised(pdf, tmp_path), formats=zxingcpp.BarcodeFormat.QRCode)
    }
    assert codes["url"] in found and codes["compact"] in found


def test_the_statement_code_keeps_its_modules_at_least_0_4_mm():
    """The JWS is ~900 characters (QR version 20 to 30); phones need modules of about 0.4 mm or more."""
    code = statement_code(certificate()[1]["token"])
    assert code.size / len(code.modules) >= MIN_MODULE_MM * 72 / 25.4 - 1e-9


def test_a_statement_too_long_for_one_qr_code_still_gives_a_certificate():
    """Every name at its longest (200 characters, 3 bytes each in UTF-8): a JWS of 3350 characters, beyond the
    2953 bytes of version 40 at error correction L; the text runs on to a second page."""
    longest = replace(facts("测" * 200), model="M" * 200, manufacturer="厂" * 200, issuer_name="机" * 200)
    statement = sign(build_claim(longest), KEY)
    assert len(statement.token) == 3350 and statement_code(statement.token) is None
    pdf = render_certificate(
        statement,
        verification_url("https://pcf.example.cn", longest.number),
        compact.encode(statement.claim, KEY),
        find_font(),
    )
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == 2 and "too long for one QR code" in text
    assert statement.token in "".join(text.split())


def test_issuing_stores_every_rendering_and_the_certificate(tmp_path):
    issued = issue_files(facts(), KEY, "https://pcf.example.cn", LocalObjectStore(tmp_path), find_font())
    assert issued.qr_content == "HTTPS://PCF.EXAMPLE.CN/01/06901234567892?label=PCF-2026-000123-F"
    assert compact.verify(issued.compact, {key_id(KEY.public_key()): KEY.public_key()}).number == "PCF-2026-000123-F"
    assert set(issued.files) == {f"{size}.{fmt}" for size in SIZES for fmt in ("svg", "png", "pdf")} | {
        "certificate.pdf"
    }
    certificate_file = issued.files["certificate.pdf"]
    assert certificate_file.content_type == "application/pdf"
    assert "碳足迹标签证书" in page_text((tmp_path / certificate_file.key).read_bytes())


def test_a_storage_failure_leaves_no_file_behind(tmp_path):
    class FailingAtTheCertificate(LocalObjectStore):
        def put(self, data: bytes, extension: str):
            if data.startswith(b"%PDF") and b"Carbon Footprint Label Certificate" in data:
                raise StorageError("disk full")
            return super().put(data, extension)

    with pytest.raises(StorageError):
        issue_files(facts(), KEY, "https://pcf.example.cn", FailingAtTheCertificate(tmp_path), find_font())
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]
