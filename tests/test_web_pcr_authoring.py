"""The PCR authoring pages of a standards body (web/routes/pcr_authoring.py), through the pages as a browser uses them:
an author creates an empty draft and types in the electrolytic manganese metal PCR (pcr_rules/examples/pcr-drafts)
through the editor form, sees the check's problems at their fields in Chinese, fixes them; the draft goes to
consultation (the authors' step, the chair's too); a manufacturer's comment (made through the service) is answered by
the chair, who then publishes.
A draft is invisible to every other organisation (404), a published version's editor is refused, and every route of
the router is covered by an isolation case."""

import html
import io
import json
import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from footprint_api.persistence.db import session_scope
from footprint_api.persistence.models import Organisation
from footprint_api.services import pcr_registry
from footprint_api.web.routes import pcr_authoring
from pcr_rules.diff import diff
from tests.conftest import ROOT
from tests.test_pcr_lifecycle import TODAY, cement_rules, new_pcr_id, principal
from tests.web_client import Browser, csrf_of

BASE = pcr_authoring.BASE
EMM = json.loads(
    (ROOT / "pcr_rules" / "examples" / "pcr-drafts" / "pcr-electrolytic-manganese-draft.json").read_text("utf-8")
)
TOMORROW = TODAY + timedelta(days=1)


@pytest.fixture(scope="module")
def app(world):
    app = world.client.app
    if not any(getattr(route, "path", "") == BASE for route in app.routes):
        app.include_router(pcr_authoring.router)  # until web/__init__.py lists the authoring pages in PAGES
    return app


@pytest.fixture(scope="module")
def people(app):
    """One signed-in browser per person for the module, in Chinese (signing in hashes a password: slow by design)."""
    browsers = {}

    def of(user: str, lang: str = "zh-CN") -> Browser:
        if (user, lang) not in browsers:
            browsers[(user, lang)] = Browser(app, user, lang=lang)
        return browsers[(user, lang)]

    return of


# --- a browser's view of the editor form ---------------------------------------------------------------------------


class FormReader(HTMLParser):
    """The fields one form of a page would send (without its buttons), as a browser builds them."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select = self._textarea = None
        self._options: list[tuple[str, bool]] = []
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected] or [v for v, _ in self._options[:1]]
            self.fields.append((self._select, chosen[0] if chosen else ""))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def form_on(html: str, form_id: str = "pcra-editor") -> dict:
    reader = FormReader(form_id)
    reader.feed(html)
    fields: dict = {}
    for name, value in reader.fields:
        if name in fields:
            fields[name] = [*fields[name], value] if isinstance(fields[name], list) else [fields[name], value]
        else:
            fields[name] = value
    return fields


def typed(document: dict, prefix: str = "") -> dict[str, str | list[str]]:
    """What a person types into the editor for a part of a PCR document: each value at the input of its path;
    boxes of a set ticked by value; a formula setting that names a parameter in its "from a parameter" select."""
    fields: dict = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if key in ("eligible_technologies", "allowed_gases", "forbid_screening_factors_for"):
            fields[name] = list(value)
        elif key == "captive_fuels":
            fields.update({f"{name}.{fuel}": unit for fuel, unit in value.items()})
        elif key == "when_absent":
            fields[f"{name}.enabled"] = "1"
            fields.update(typed(value, f"{name}."))
        elif isinstance(value, dict) and key == "formula_config":
            for setting, chosen in value.items():
                target = f"{name}.{setting}.parameter" if isinstance(chosen, dict) else f"{name}.{setting}"
                fields[target] = chosen["parameter"] if isinstance(chosen, dict) else _text(chosen)
        elif isinstance(value, dict):
            fields.update(typed(value, f"{name}."))
        elif isinstance(value, list):
            for index, entry in enumerate(value):
                fields.update(
                    typed(entry, f"{name}[{index}].") if isinstance(entry, dict) else {f"{name}[{index}]": entry}
                )
        elif isinstance(value, bool):
            if value:
                fields[name] = "1"
            else:
                fields.pop(name, None)
        else:
            fields[name] = _text(value)
    return fields


def _text(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def emm(version: str, pcr_id: str) -> dict:
    return {**EMM, "id": pcr_id, "version": version}


def editor_url(pcr_id: str, version: str = "0.1.0") -> str:
    return f"{BASE}/{pcr_id}/{version}/edit"


def press(browser: Browser, url: str, html: str, action: str, changes: dict | None = None, unset=()):
    """Submits the editor form of `html` as a browser does: its fields, the person's changes, the button pressed."""
    fields = {**form_on(html), **(changes or {})}
    for name in unset:
        fields.pop(name, None)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return browser.client.post(url, data={**fields, "csrf_token": token, "action": action})


def invalid_at(page: str, name: str) -> str:
    """The error shown at the input of `name` (asserting the input is marked invalid and described by it)."""
    ident = pcr_authoring.field_id(name)
    assert re.search(rf'id="{re.escape(ident)}"[^>]*aria-invalid="true"', page), f"{name} is not marked invalid"
    found = re.search(rf'<p class="field-error" id="{re.escape(ident)}-error"[^>]*>(.*?)</p>', page, re.S)
    assert found, f"no error at {name}"
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def new_draft(browser: Browser, pcr_id: str, version: str = "0.1.0"):
    return browser.post_form(
        BASE,
        f"{BASE}/drafts",
        {
            "start_from": "empty",
            "pcr_id": pcr_id,
            "version": version,
            "title": EMM["title"],
            "product_category": EMM["product_category"],
            "declared_unit.amount": "1",
            "declared_unit.unit": "t",
            "declared_unit.description": EMM["declared_unit"]["description"],
        },
    )


def stored(pcr_id: str, version: str = "0.1.0") -> dict:
    with session_scope() as session:
        return pcr_registry.visible_version(session, principal("sb-author"), pcr_id, version).document


def type_in_emm(author: Browser, pcr_id: str, changes: dict | None = None):
    """The manganese draft typed into a fresh draft's editor, row by row, as a person does it: an item row added
    for each item, the parameters its formula reads added with the formula's offer, then every field typed and
    saved. Returns the answer to Save."""
    url = editor_url(pcr_id)
    page = author.get(url).text
    for _ in EMM["items"]:
        answer = press(author, url, page, "add:items")
        assert answer.status_code == 200 and "尚未保存" in answer.text
        page = answer.text
    general = {k: v for k, v in emm("0.1.0", pcr_id).items() if k != "items"}
    items = {k: v for k, v in typed({"items": EMM["items"]}).items() if ".parameters[" not in k}
    for index, item in enumerate(EMM["items"]):
        for parameter in item.get("parameters", []):
            answer = press(author, url, page, f"offer:items[{index}]|{parameter['id']}", {**typed(general), **items})
            assert answer.status_code == 200, answer.text
            page = answer.text
    return press(author, url, page, "save", {**typed(emm("0.1.0", pcr_id)), **(changes or {})})


# --- the author's draft, from empty to clean ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def manganese(people):
    """The manganese PCR drafted through the pages (a fresh id per module run), its first save with two mistakes."""
    pcr_id = f"PCR-CN-MANGANESE-EMM-{uuid.uuid4().hex[:4].upper()}"
    author = people("sb-author")
    created = new_draft(author, pcr_id)
    assert created.status_code == 303 and created.headers["location"] == editor_url(pcr_id) + "?done=created"
    mistakes = {
        "items[0].plausible_per_declared_unit.min": "9000",  # min > max (5000 .. 9000 reversed)
        "items[0].plausible_per_declared_unit.max": "5000",
        "items[3].activity": "manganese_ore_mining",  # no such background activity in cn-2025.1
    }
    saved = type_in_emm(author, pcr_id, mistakes)
    assert saved.status_code == 303 and saved.headers["location"] == editor_url(pcr_id) + "?done=saved"
    return pcr_id


def test_an_author_types_the_manganese_pcr_into_the_form_and_sees_each_mistake_at_its_field(people, manganese):
    page = people("sb-author").get(editor_url(manganese) + "?done=saved")
    assert page.status_code == 200, page.text
    summary = re.search(r'<section class="card error-summary".*?</section>', page.text, re.S)
    assert summary and summary.group(0).count("<li>") == 2, summary and re.sub(r"<[^>]+>", "", summary.group(0))
    assert "草案已保存。检查发现 2 个问题" in page.text
    assert invalid_at(page.text, "items[0].plausible_per_declared_unit.min") == (
        "下限 9000 大于上限 5000。 items[0].plausible_per_declared_unit.min"
    )
    assert invalid_at(page.text, "items[3].activity") == (
        "因子集 cn-2025.1 中没有背景活动“manganese_ore_mining”。 items[3].activity"
    )
    # the unknown activity is shown as it is (not silently replaced by an option), marked
    assert '<option value="manganese_ore_mining" selected>manganese_ore_mining (?)</option>' in page.text
    document = stored(manganese)  # saved with its problems: it is a draft
    assert document["items"][0]["plausible_per_declared_unit"] == {"min": 9000.0, "max": 5000.0}
    assert document["items"][1]["parameters"][0]["id"] == "purity"  # added by the formula's offer


def test_the_problems_are_worded_in_english_for_an_english_reader(people, manganese):
    page = people("sb-author", "en").get(editor_url(manganese))
    assert invalid_at(page.text, "items[3].activity").startswith(
        "Factor set cn-2025.1 has no background activity 'manganese_ore_mining'."
    )


def test_an_author_may_not_open_the_consultation_of_a_draft_with_problems(people, manganese):
    overview = f"{BASE}/{manganese}/0.1.0"
    author = people("sb-author")
    page = author.get(overview)
    assert "检查发现 2 个问题" in page.text and re.search(r'<button type="submit" class="primary" disabled', page.text)
    refused = author.post_form(overview, f"{overview}/consultation", {"consultation_until": TODAY.isoformat()})
    assert refused.status_code == 422
    assert invalid_at(refused.text, "consultation_until") == "草案还有 2 个问题，不能离开草案状态。"
    with session_scope() as session:
        assert pcr_registry.visible_version(session, principal("sb-chair"), manganese, "0.1.0").state == "draft"


def test_the_fixed_draft_is_clean_and_is_what_the_example_says(people, manganese):
    author = people("sb-author")
    url = editor_url(manganese)
    page = author.get(url).text
    fixed = press(author, url, page, "save", typed({"items": EMM["items"][:4]}))
    assert fixed.status_code == 303
    page = author.get(fixed.headers["location"])
    assert "草案已保存，检查未发现问题" in page.text and 'aria-invalid="true"' not in page.text
    assert pcr_registry.check_document(stored(manganese)) == []
    assert diff(emm("0.1.0", manganese), stored(manganese)) == []  # the example's rules, field for field


# --- consultation, the comment and its answer, publication ---------------------------------------------------------


def test_an_author_sees_the_submit_form_once_the_check_is_clean(people, manganese):
    page = people("sb-author").get(f"{BASE}/{manganese}/0.1.0").text
    form = re.search(r'<form [^>]*id="pcra-consultation".*?</form>', page, re.S).group(0)
    assert 'name="consultation_until"' in form and "disabled" not in form


def test_an_author_submits_a_draft_for_consultation_and_may_not_close_it(people):
    pcr_id = new_pcr_id()
    with session_scope() as session:
        pcr_registry.create_draft(session, principal("sb-author"), pcr_id, "1.0.0", "empty")
        pcr_registry.replace_document(session, principal("sb-author"), pcr_id, "1.0.0", cement_rules(pcr_id, "1.0.0"))
    overview = f"{BASE}/{pcr_id}/1.0.0"
    author = people("sb-author")
    opened = author.post_form(overview, f"{overview}/consultation", {"consultation_until": TODAY.isoformat()})
    assert opened.status_code == 303 and opened.headers["location"] == f"{overview}?done=consultation"
    assert 'id="pcra-close"' not in author.get(overview).text  # closing it is the chair's step


def test_the_chair_opens_the_consultation_with_its_end_date(people, manganese):
    overview = f"{BASE}/{manganese}/0.1.0"
    chair = people("sb-chair")
    bad = chair.post_form(overview, f"{overview}/consultation", {"consultation_until": "next week"})
    assert bad.status_code == 422 and invalid_at(bad.text, "consultation_until") == "请输入日期（YYYY-MM-DD）。"
    past = chair.post_form(overview, f"{overview}/consultation", {"consultation_until": "2020-01-01"})
    assert past.status_code == 422 and invalid_at(past.text, "consultation_until") == "这一日期已经过去。"
    opened = chair.post_form(overview, f"{overview}/consultation", {"consultation_until": TODAY.isoformat()})
    assert opened.status_code == 303 and opened.headers["location"] == f"{overview}?done=consultation"
    page = chair.get(opened.headers["location"]).text
    assert "草案已提交公开征求意见" in page and f"公开征求意见中，截止日期 {TODAY.isoformat()}" in page
    assert "征求意见期至" in page and re.search(r'id="f-close" disabled', page)  # not before its end


def test_the_chair_answers_the_manufacturers_comment_and_publishes(world, people, manganese, monkeypatch):
    overview = f"{BASE}/{manganese}/0.1.0"
    chair = people("sb-chair")
    with session_scope() as session:
        note = pcr_registry.comment(
            session, principal("acme-engineer"), manganese, "0.1.0", "items[ore_mnco3]", "请说明锰品位的测定方法"
        )
        comment_id = note.id
    monkeypatch.setattr(pcr_registry, "today_utc", lambda: TOMORROW)  # the stated period has passed
    closed = chair.post_form(overview, f"{overview}/close")
    assert closed.status_code == 303 and closed.headers["location"] == f"{overview}?done=closed"
    page = chair.get(overview).text
    comment = re.search(rf'<li class="pcra-comment" id="comment-{comment_id}".*?</li>', page, re.S).group(0)
    assert "items[ore_mnco3]" in comment and "请说明锰品位的测定方法" in comment
    with session_scope() as session:
        assert session.get(Organisation, world.organisations["acme"]).name in comment  # the commenter's body
    assert "还有 1 条意见未答复" in page and re.search(r'<button type="submit" class="primary" disabled', page)

    dates = {"effective_from": TOMORROW.isoformat(), "valid_until": (TODAY + timedelta(days=3 * 365)).isoformat()}
    early = chair.post_form(overview, f"{overview}/publish", dates)
    assert early.status_code == 409 and "发布前须答复每条意见，尚有 1 条未答复。" in early.text

    answer = f"{overview}/comments/{comment_id}/answer"
    no_reason = chair.post_form(overview, answer, {"decision": "rejected", "reason": ""})
    assert no_reason.status_code == 422
    assert invalid_at(no_reason.text, f"c-{comment_id}.reason") == "不采纳时请说明理由。"
    done = chair.post_form(overview, answer, {"decision": "accepted", "reason": "在 notes 中补充 GB/T 1506 测定方法"})
    assert done.status_code == 303 and done.headers["location"] == f"{overview}?done=answered"
    page = chair.get(overview).text
    assert "还有 1 条意见未答复" not in page and "在 notes 中补充 GB/T 1506 测定方法" in page

    published = chair.post_form(overview, f"{overview}/publish", dates)
    assert published.status_code == 303 and published.headers["location"] == f"{overview}?done=published"
    with session_scope() as session:
        row = pcr_registry.visible_version(session, None, manganese, "0.1.0")
        assert (row.state, row.effective_from.isoformat()) == ("published", dates["effective_from"])


def test_a_published_versions_editor_is_refused(people, manganese):
    author = people("sb-author")
    url = editor_url(manganese)
    assert author.get(url).status_code == 409
    page = author.get(f"{BASE}/{manganese}/0.1.0")
    assert "pcra-edit-link" not in page.text and "此版本已发布，不再修改" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = author.client.post(url, data={"csrf_token": token, "action": "save", "title": "changed"})
    assert refused.status_code == 409 and "本版本的状态为“已发布”，不能修改" in refused.text
    assert stored(manganese)["title"] == EMM["title"]


def test_a_new_version_starts_as_a_copy_and_lists_its_changes(people, manganese):
    author = people("sb-author")
    listing = author.get(BASE).text
    assert f'data-pcr="{manganese}"' in listing and 'value="0.2.0"' in listing  # offered as the next version
    created = author.post_form(
        BASE, f"{BASE}/drafts", {"start_from": "latest", "pcr_id": manganese, "version": "0.2.0"}
    )
    assert created.status_code == 303
    url = editor_url(manganese, "0.2.0")
    page = author.get(url).text
    changed = press(author, url, page, "save", {"items[0].plausible_per_declared_unit.max": "8500"})
    assert changed.status_code == 303
    overview = author.get(f"{BASE}/{manganese}/0.2.0").text
    rows = [
        re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr data-kind[^>]*>(.*?)</tr>", overview, re.S)
    ]
    assert rows == [
        ["<code>version</code>", "修改", "0.1.0", "0.2.0"],
        ["<code>items[grid_electricity].plausible_per_declared_unit.max</code>", "修改", "9000.0", "8500.0"],
    ]
    again = author.post_form(BASE, f"{BASE}/drafts", {"start_from": "latest", "pcr_id": manganese, "version": "0.0.9"})
    assert again.status_code == 422 and f"版本须新于 {manganese} 已发布的最新版本 0.1.0。" in again.text


def test_the_new_version_supersedes_the_published_one_after_its_transition(people, manganese, monkeypatch):
    overview = f"{BASE}/{manganese}/0.2.0"
    chair = people("sb-chair")
    opened = chair.post_form(overview, f"{overview}/consultation", {"consultation_until": TODAY.isoformat()})
    assert opened.status_code == 303
    monkeypatch.setattr(pcr_registry, "today_utc", lambda: TOMORROW)
    assert chair.post_form(overview, f"{overview}/close").status_code == 303
    assert "被替代的版本（0.1.0）的过渡期截止日" in chair.get(overview).text
    effective = TOMORROW + timedelta(days=30)
    dates = {"effective_from": effective.isoformat(), "valid_until": (effective + timedelta(days=1000)).isoformat()}
    gap = chair.post_form(
        overview, f"{overview}/publish", {**dates, "transition_until": (effective - timedelta(days=10)).isoformat()}
    )
    assert gap.status_code == 422
    assert (
        invalid_at(gap.text, "transition_until") == "过渡期截止日期不得早于新版本实施日期的前一天（版本之间不留空档）。"
    )
    transition = (effective + timedelta(days=90)).isoformat()
    published = chair.post_form(overview, f"{overview}/publish", {**dates, "transition_until": transition})
    assert published.status_code == 303
    earlier = chair.get(f"{BASE}/{manganese}/0.1.0").text
    assert 'data-status="superseded"' in earlier and f"0.2.0 · 过渡期截止 {transition}" in earlier


def test_the_chair_withdraws_a_draft_with_its_reason(people, draft):
    overview = f"{BASE}/{draft}/0.1.0"
    author, chair = people("sb-author"), people("sb-chair")
    assert "撤回此版本" not in author.get(overview).text
    refused = author.post_form(overview, f"{overview}/withdraw", {"withdraw_reason": "重复"})
    assert refused.status_code == 403 and "只有发布机构的委员会主席可以撤回" in refused.text
    empty = chair.post_form(overview, f"{overview}/withdraw", {"withdraw_reason": " "})
    assert empty.status_code == 422 and invalid_at(empty.text, "withdraw_reason") == "必填。"
    done = chair.post_form(overview, f"{overview}/withdraw", {"withdraw_reason": "与 PCR-CN-MANGANESE-EMM 重复"})
    assert done.status_code == 303 and done.headers["location"] == f"{overview}?done=withdrawn"
    page = chair.get(overview).text
    assert "与 PCR-CN-MANGANESE-EMM 重复" in page and 'data-status="withdrawn"' in page
    assert author.get(editor_url(draft)).status_code == 409


def test_a_new_draft_names_every_field_it_cannot_take_in_one_round(people):
    refused = people("sb-author").post_form(
        BASE, f"{BASE}/drafts", {"start_from": "empty", "pcr_id": "x", "version": "1"}
    )
    assert refused.status_code == 422
    assert invalid_at(refused.text, "new.pcr_id").startswith("PCR 编号为 3–100 个字母")
    assert invalid_at(refused.text, "new.version") == "版本号格式为 主版本.次版本.修订号，如 1.2.0。"


@pytest.mark.parametrize(
    "lang, reasons",
    [
        ("zh-CN", ["发布前须答复每条意见，尚有 1 条未答复。", "electricity：尚未答复。"]),
        ("en", ["Answer every comment before publishing: 1 unanswered.", "electricity: not answered."]),
    ],
)
def test_publishing_with_an_unanswered_comment_is_refused_in_the_readers_language(people, lang, reasons):
    """The service's refusal (`pcr.error.unanswered`, and `pcr.error.not_answered` for the comment) worded by the
    catalogue of the page's language, from its code and parameters."""
    pcr_id = new_pcr_id()
    with session_scope() as session:
        pcr_registry.create_draft(session, principal("sb-author"), pcr_id, "1.0.0", "empty")
        pcr_registry.replace_document(session, principal("sb-author"), pcr_id, "1.0.0", cement_rules(pcr_id, "1.0.0"))
        pcr_registry.open_consultation(session, principal("sb-author"), pcr_id, "1.0.0", TODAY)
        pcr_registry.comment(session, principal("acme-engineer"), pcr_id, "1.0.0", "electricity", "market-based?")
        pcr_registry.close_consultation(session, principal("sb-chair"), pcr_id, "1.0.0", today=TOMORROW)
    overview = f"{BASE}/{pcr_id}/1.0.0"
    dates = {"effective_from": TOMORROW.isoformat(), "valid_until": (TODAY + timedelta(days=365)).isoformat()}
    refused = people("sb-chair", lang).post_form(overview, f"{overview}/publish", dates)
    assert refused.status_code == 409
    shown = re.search(r'<section class="card error-summary".*?</section>', refused.text, re.S).group(0)
    assert re.findall(r'<a href="#f-publish">(.*?)</a>', html.unescape(shown)) == reasons


def test_the_chair_answers_only_comments_of_the_version(people):
    pcr_id = new_pcr_id()
    with session_scope() as session:
        pcr_registry.create_draft(session, principal("sb-author"), pcr_id, "1.0.0", "empty")
        pcr_registry.replace_document(session, principal("sb-author"), pcr_id, "1.0.0", cement_rules(pcr_id, "1.0.0"))
        pcr_registry.open_consultation(session, principal("sb-chair"), pcr_id, "1.0.0", TODAY)
        pcr_registry.close_consultation(session, principal("sb-chair"), pcr_id, "1.0.0", today=TOMORROW)
    overview = f"{BASE}/{pcr_id}/1.0.0"
    answer = f"{overview}/comments/{uuid.uuid4()}/answer"
    assert people("sb-chair").post_form(overview, answer, {"decision": "accepted"}).status_code == 404


@pytest.mark.parametrize(
    "path, words",
    [
        ("", ["My PCRs", "New PCR (empty draft)", "New version of a published PCR"]),
        ("/{pcr_id}/0.1.0", ["Full check", "Next step", "Consultation comments (0)"]),
        (
            "/{pcr_id}/0.1.0/edit",
            ["Save the draft", "Inventory items", "Add an item", "Cut-off (GB/T 24067-2024 6.3.4)"],
        ),
    ],
)
def test_the_pages_are_in_english_for_an_english_reader(people, draft, path, words):
    page = people("sb-author", "en").get(BASE + path.format(pcr_id=draft))
    assert page.status_code == 200 and page.headers["content-language"] == "en"
    assert all(word in page.text for word in words), [w for w in words if w not in page.text]


# --- the editor's lists and its bounds -----------------------------------------------------------------------------


@pytest.fixture
def draft(people):
    pcr_id = new_pcr_id()
    assert new_draft(people("sb-author"), pcr_id).status_code == 303
    return pcr_id


def test_rows_are_added_moved_and_removed_without_storing_anything(people, draft):
    author = people("sb-author")
    url = editor_url(draft)
    page = press(author, url, author.get(url).text, "add:items").text
    page = press(author, url, page, "add:items").text
    moved = press(author, url, page, "down:items[0]", {"items[0].id": "first", "items[1].id": "second"})
    assert moved.status_code == 200 and "尚未保存" in moved.text
    assert form_on(moved.text)["items[0].id"] == "second" and form_on(moved.text)["items[1].id"] == "first"
    removed = press(author, url, moved.text, "remove:items[0]")
    assert form_on(removed.text)["items[0].id"] == "first" and "items[1].id" not in form_on(removed.text)
    lines = press(author, url, removed.text, "add:standards", {"standards[0]": "GB/T 24067-2024"})
    assert form_on(lines.text)["standards[1]"] == ""
    assert "items" not in stored(draft)  # nothing stored until Save


def test_a_problem_of_a_row_after_an_empty_row_is_shown_at_the_row_the_person_sees(people, draft):
    author = people("sb-author")
    url = editor_url(draft)
    page = press(author, url, author.get(url).text, "add:items").text
    page = press(author, url, page, "add:items").text
    item = {"id": "ore", "label": "ore", "kind": "input", "unit": "t", "stage": "production", "activity": "no_such_ore"}
    redrawn = press(author, url, page, "add:standards", typed(item, "items[1]."))  # items[0] is empty: left out
    assert invalid_at(redrawn.text, "items[1].activity") == (
        "因子集 cn-2025.1 中没有背景活动“no_such_ore”。 items[1].activity"
    )


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("declared_unit.amount", "一吨", "请输入数字（如 0.05 或 5000）。"),
        ("max_reference_period_days", "1.5", "请输入整数。"),
        ("cut_off.max_single_share", "nan", "请输入数字（如 0.05 或 5000）。"),
        ("title", "x" * 4001, "最多 4000 个字符。"),
    ],
)
def test_input_that_is_no_value_of_its_field_is_refused_at_the_field_and_nothing_is_stored(
    people, draft, name, value, message
):
    author = people("sb-author")
    url = editor_url(draft)
    before = stored(draft)
    refused = press(author, url, author.get(url).text, "save", {name: value})
    assert refused.status_code == 422
    assert invalid_at(refused.text, name).startswith(message)
    assert stored(draft) == before


def test_a_crafted_list_button_is_refused(people, draft):
    author = people("sb-author")
    url = editor_url(draft)
    for action in ("add:electricity", "remove:items[7]", "explode:items", "offer:items[0]|purity"):
        refused = press(author, url, author.get(url).text, action)
        assert refused.status_code == 422 and "表单按钮无效" in refused.text, action


def test_the_preview_shows_the_manufacturers_form_read_only_and_the_excel_template(people, app):
    pcr_id = new_pcr_id()
    with session_scope() as session:
        pcr_registry.create_draft(session, principal("sb-author"), pcr_id, "1.0.0", "empty")
        pcr_registry.replace_document(session, principal("sb-author"), pcr_id, "1.0.0", emm("1.0.0", pcr_id))
    author = people("sb-author")
    preview = author.get(f"{BASE}/{pcr_id}/1.0.0/preview")
    assert preview.status_code == 200
    assert '<fieldset disabled class="pcra-preview"' in preview.text
    assert "交流电耗（电解及辅助设施）" in preview.text and 'name="item.ore_mnco3.param.purity.amount"' in preview.text
    workbook = author.get(f"{BASE}/{pcr_id}/1.0.0/template.xlsx")
    assert workbook.status_code == 200 and workbook.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    items = "\n".join(
        str(c.value) for row in load_workbook(io.BytesIO(workbook.content)).worksheets[1].iter_rows() for c in row
    )
    assert "ore_mnco3" in items and "grid_electricity" in items


def test_a_draft_that_is_not_a_pcr_yet_has_no_preview(people, draft):
    page = people("sb-author").get(f"{BASE}/{draft}/0.1.0/preview")
    assert page.status_code == 422 and "草案还不是一份结构完整的 PCR" in page.text
    assert people("sb-author").get(f"{BASE}/{draft}/0.1.0/template.xlsx").status_code == 422


# --- isolation: every route, for every other organisation and role ---------------------------------------------------


@pytest.fixture(scope="module")
def victim():
    """A draft of the standards body "sb", and a comment id of a version in review (for the answer route)."""
    pcr_id = new_pcr_id()
    with session_scope() as session:
        pcr_registry.create_draft(session, principal("sb-author"), pcr_id, "1.0.0", "empty")
        pcr_registry.replace_document(session, principal("sb-author"), pcr_id, "1.0.0", cement_rules(pcr_id, "1.0.0"))
    return {"pcr_id": pcr_id, "version": "1.0.0", "comment_id": str(uuid.uuid4())}


# (method, path) -> [(who, status)]: another standards body's chair, a manufacturer and the platform admin see no
# draft of "sb" (404, as the API answers); the list and new drafts are for PCR authors and chairs only (403)
OUTSIDERS = [("sb2-chair", 404), ("acme-engineer", 404), ("root", 404), ("cb-admin", 404)]
CASES = {
    ("GET", BASE): [("acme-engineer", 403), ("root", 403)],
    ("POST", f"{BASE}/drafts"): [("acme-engineer", 403), ("cb-verifier", 403)],
    ("GET", BASE + "/{pcr_id}/{version}"): OUTSIDERS,
    ("GET", BASE + "/{pcr_id}/{version}/edit"): OUTSIDERS,
    ("POST", BASE + "/{pcr_id}/{version}/edit"): OUTSIDERS,
    ("GET", BASE + "/{pcr_id}/{version}/preview"): OUTSIDERS,
    ("GET", BASE + "/{pcr_id}/{version}/template.xlsx"): OUTSIDERS,
    ("POST", BASE + "/{pcr_id}/{version}/consultation"): OUTSIDERS,
    ("POST", BASE + "/{pcr_id}/{version}/close"): OUTSIDERS,
    ("POST", BASE + "/{pcr_id}/{version}/comments/{comment_id}/answer"): OUTSIDERS,
    ("POST", BASE + "/{pcr_id}/{version}/publish"): OUTSIDERS,
    ("POST", BASE + "/{pcr_id}/{version}/withdraw"): OUTSIDERS,
    ("POST", BASE + "/{pcr_id}/{version}/background"): OUTSIDERS,
}
FORMS = {
    f"{BASE}/drafts": {"start_from": "empty", "pcr_id": "PCR-INTRUDER", "version": "1.0.0"},
    BASE + "/{pcr_id}/{version}/edit": {"action": "save", "title": "intruded"},
    BASE + "/{pcr_id}/{version}/consultation": {"consultation_until": TODAY.isoformat()},
    BASE + "/{pcr_id}/{version}/comments/{comment_id}/answer": {"decision": "accepted"},
    BASE + "/{pcr_id}/{version}/withdraw": {"withdraw_reason": "intruded"},
    BASE + "/{pcr_id}/{version}/background": {"item": "0", "database": "x", "activity": "y"},
}


def test_every_route_of_the_authoring_pages_has_isolation_cases():
    routes = {(m, r.path) for r in pcr_authoring.router.routes for m in r.methods if m != "HEAD"}
    assert routes == set(CASES)


@pytest.mark.parametrize("method, path", sorted(CASES))
def test_a_draft_is_invisible_to_other_organisations_and_the_pages_to_other_roles(people, victim, method, path):
    url = path.format(**victim)
    for user, status in CASES[(method, path)]:
        browser = people(user)
        if method == "GET":
            answer = browser.get(url)
        else:
            token = csrf_of(browser.get("/registry").text)  # every signed-in page has the sign-out form's token
            answer = browser.client.post(url, data={**FORMS.get(path, {}), "csrf_token": token})
        assert answer.status_code == status, (user, method, url, answer.text[:300])
    assert stored(victim["pcr_id"], victim["version"])["title"] == cement_rules("x", "1.0.0")["title"]
    assert victim["pcr_id"] not in people("sb2-chair").get(f"{BASE}").text


def test_both_languages_have_every_message_of_the_pages():
    from footprint_api.core.messages import LOCALES, catalogue

    zh, en = ({k for k in catalogue(lang).messages if k.startswith("pcra.")} for lang in ("zh", "en"))
    assert zh == en
    for lang in ("zh", "en"):  # the authoring pages' messages are theirs alone
        assert {k for k in catalogue(lang).messages if k.startswith("pcra.")} == set(
            __import__("yaml").safe_load((LOCALES / lang / "pcr_authoring.yaml").read_text("utf-8"))
        )
    sources = [ROOT / "footprint_api" / "web" / "routes" / "pcr_authoring.py"]
    sources += sorted((ROOT / "footprint_api" / "web" / "templates" / "pcr" / "authoring").glob("*.html"))
    used = {
        key for path in sources for key in re.findall(r"""["'](pcra\.[a-z_.]+[a-z_])["']""", path.read_text("utf-8"))
    }
    assert used - zh == set()


def test_the_version_page_is_headed_by_the_title_in_the_readers_language(people, manganese):
    """The example gives both titles: 电解金属锰（碳酸锰矿，从摇篮到大门） for a Chinese reader, the English one otherwise."""
    url = f"{BASE}/{manganese}/0.1.0"
    chinese = re.search(r"<h1[^>]*>(.*?)</h1>", people("sb-author").get(url).text, re.S).group(1)
    english = re.search(r"<h1[^>]*>(.*?)</h1>", people("sb-author", "en").get(url).text, re.S).group(1)
    assert EMM["title_zh"] in chinese and EMM["title"] not in chinese
    assert EMM["title"] in english


def test_the_product_class_and_the_rules_between_items_survive_the_editor(people):
    """The PCR language's `classification` (choice parameters of the product system that make the product class),
    `require_one_of` (groups of items of which one is required) and an item's `required_with` are typed in the
    editor, stored, and kept by a save that changes nothing: a draft started from a version that has them (cement
    1.2.0) must not lose them in the editor."""
    pcr_id = f"PCR-CN-MANGANESE-CLASS-{uuid.uuid4().hex[:4].upper()}"
    author = people("sb-author")
    assert new_draft(author, pcr_id).status_code == 303
    rules = {
        "parameters[0].id": "grade",
        "parameters[0].label": "manganese grade",
        "parameters[0].label_zh": "锰牌号",
        "parameters[0].choices[0].value": "DJMn99.7",
        "parameters[0].choices[0].label": "DJMn99.7",
        "parameters[0].choices[1].value": "DJMn99.5",
        "parameters[0].choices[1].label": "DJMn99.5",
        "classification": ["grade"],
        "require_one_of[0]": ["ore_mnco3", "ore_calcite"],
        "items[4].required_with": ["ore_mnco3"],
    }
    assert type_in_emm(author, pcr_id, rules).status_code == 303
    document = stored(pcr_id)
    assert document["classification"] == ["grade"]
    assert document["require_one_of"] == [["ore_mnco3", "ore_calcite"]]
    assert document["items"][4]["id"] == "boiler_coal" and document["items"][4]["required_with"] == ["ore_mnco3"]
    url = editor_url(pcr_id)
    page = author.get(url).text
    assert press(author, url, page, "save").status_code == 303
    assert stored(pcr_id) == document
    added = press(author, url, author.get(url).text, "add:require_one_of")
    assert added.status_code == 200 and 'name="require_one_of[1]"' in added.text
