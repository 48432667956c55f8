"""The certification journey in headless Chromium, at phone and desktop width, in Chinese and English, through the
pages only: the engineer applies for a calculated footprint and submits it with an evidence PDF; the verifier opens
the queue, starts the review and raises a finding on an inventory item; the engineer answers it with a corrected
version and resubmits; the verifier sees the diff, closes the finding, approves with a statement and issues the label;
the label's public page says VALID; the verifier suspends it with a reason. Every page passes axe-core and requests
nothing from another host; screenshots in test-artifacts/ (cert-*)."""

import re

import pytest

from tests.browser import (  # noqa: F401  (browser and visit are fixtures)
    assert_accessible,
    assert_self_contained,
    browser,
    screenshot,
    serving,
    sign_in,
    visit,
)
from tests.labelling import calculated_footprint

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def served(world):
    from footprint_api.app import create_app

    with serving(create_app()) as base:
        yield base


def footprints(world) -> dict:
    """A calculated cement footprint (version 1) and its correction (version 2: kiln coal 240,000 t -> 230,000 t)."""
    first = calculated_footprint(world, gtin=None)
    second = calculated_footprint(world, product_id=first["product_id"], **{"1.amount": 230_000})
    return {"first": first["footprint_id"], "second": second["footprint_id"]}


def check(tab, served: str, name: str) -> None:
    tab.page.wait_for_load_state()
    assert_accessible(tab.page)
    assert_self_contained(tab, served)
    screenshot(tab, name)


def press(page, action: str) -> None:
    """Clicks the button of the form posting to …/{action} and waits for the next page."""
    with page.expect_navigation():
        page.click(f"form[action$='/{action}'] button[type=submit]")


@pytest.mark.parametrize("lang, width", [("zh", "phone"), ("en", "desktop")])  # both widths, both languages
def test_apply_review_correct_approve_issue_and_suspend(world, served, visit, lang, width):
    made = footprints(world)
    name = f"{lang}-{width}"
    engineer, verifier = visit(width, lang), visit(width, lang)
    mine, theirs = engineer.page, verifier.page
    for tab in (engineer, verifier):
        tab.page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions

    # the engineer applies for version 1 and submits it with an evidence PDF
    sign_in(engineer, served, "acme-engineer")
    mine.goto(f"{served}/app/applications")
    check(engineer, served, f"cert-applications-{name}")
    with mine.expect_navigation():
        mine.click(f"a[href='/app/applications/new?footprint={made['first']}']")
    mine.select_option("#body", str(world.organisations["cb"]))
    mine.set_input_files("#file", {"name": "meter readings 2023.pdf", "mimeType": "application/pdf", "buffer": PDF})
    check(engineer, served, f"cert-new-{name}")
    with mine.expect_navigation():
        mine.click("button[type=submit].primary")
    application = re.search(r"/app/applications/([0-9a-f-]{36})", mine.url).group(1)
    assert "meter readings 2023.pdf" in mine.inner_text("#evidence")
    check(engineer, served, f"cert-submitted-{name}")

    # the verifier opens the queue, starts the review, raises a finding on kiln coal, requests corrections
    sign_in(verifier, served, "cb-verifier")
    theirs.goto(f"{served}/app/review")
    check(verifier, served, f"cert-queue-{name}")
    with theirs.expect_navigation():
        theirs.click(f"a[href='/app/review/{application}']")
    check(verifier, served, f"cert-review-submitted-{name}")
    press(theirs, "start_review")
    check(verifier, served, f"cert-review-{name}")
    with theirs.expect_navigation():
        theirs.click("#item-1 a.raise")
    assert theirs.input_value("#raise-subject") == "items[1]"
    theirs.fill("#raise-text", "Kiln coal: use the weighbridge total, not the purchase invoices.")
    press(theirs, "findings")
    press(theirs, "request_corrections")
    check(verifier, served, f"cert-corrections-requested-{name}")

    # the engineer answers with the corrected version and resubmits
    mine.reload()
    mine.fill("form.answer-form textarea", "Weighbridge total used; see version 2.")
    mine.select_option("form.answer-form select", made["second"])
    with mine.expect_navigation():
        mine.click("form.answer-form button[type=submit]")
    check(engineer, served, f"cert-answered-{name}")
    assert mine.input_value("#resubmit-fp") == made["second"]
    press(mine, "resubmit")
    check(engineer, served, f"cert-resubmitted-{name}")

    # the verifier sees the diff, closes the finding, approves with a statement and issues the label
    theirs.reload()
    press(theirs, "start_review")
    diff = theirs.inner_text("section.diff")
    assert "items[1].amount" in diff and "240,000" in diff and "230,000" in diff
    check(verifier, served, f"cert-diff-{name}")
    theirs.fill("form.finding-step textarea", "Accepted: the weighbridge total is used.")
    press(theirs, "close")
    theirs.fill(
        "#approve-comment",
        "We verified the 2023 inventory of Line 2 against GB/T 24067-2024, "
        "including a site visit; the footprint is fairly stated.",
    )
    press(theirs, "approve")
    press(theirs, "issue_label")
    check(verifier, served, f"cert-issued-{name}")
    number = theirs.inner_text("a.label-number").strip()

    theirs.goto(f"{served}/V/{number}")
    assert theirs.get_attribute("section.verdict", "data-status") == "VALID"
    check(verifier, served, f"cert-valid-{name}")

    # the verifier suspends the label with a reason, confirming the question
    theirs.goto(f"{served}/app/labels")
    card = f"#label-{number}"
    theirs.fill(f"{card} form[action$='/suspend'] input[name=comment]", "Surveillance audit overdue.")
    with theirs.expect_navigation():
        theirs.click(f"{card} form[action$='/suspend'] button[type=submit]")
    assert "Surveillance audit overdue." in theirs.inner_text(card)
    check(verifier, served, f"cert-suspended-{name}")
    mine.goto(f"{served}/app/applications/{application}")
    assert number in mine.inner_text("main")
    check(engineer, served, f"cert-labelled-{name}")
