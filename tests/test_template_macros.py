"""The macros every part's pages share (templates/app/macros.html): a table of rows in its scrolling region, a form
of one button with the form token, a field with its help and error. Each is rendered alone and read as markup, the
whitespace between tags aside."""

import re

import pytest

from footprint_api.web.pages import TEMPLATES, environment


def render(source: str, **context) -> str:
    html = environment().from_string('{% import "app/macros.html" as ui with context %}' + source).render(**context)
    return re.sub(r">\s+<", "><", html).strip()


def test_every_template_compiles():
    names = [path.relative_to(TEMPLATES).as_posix() for path in TEMPLATES.rglob("*.html")]
    assert "app/macros.html" in names
    for name in names:
        environment().get_template(name)


def test_a_table_names_its_region_and_heads_each_column_as_text_number_or_hidden():
    html = render(
        '{% call(row) ui.data_table(rows, ["Name", ("Mass", "num"), ("Act", "hidden")], label="Gases",'
        ' caption="Gases of the footprint", class="data stack", id="gases", data="data-gases") %}'
        "<tr><td>{{ row }}</td></tr>{% endcall %}",
        rows=["CO2", "CH4"],
    )
    assert html == (
        '<div class="table-scroll" tabindex="0" role="region" aria-label="Gases">'
        '<table class="data stack" id="gases" data-gases>'
        '<caption class="visually-hidden">Gases of the footprint</caption>'
        '<thead><tr><th scope="col">Name</th><th scope="col" class="num">Mass</th>'
        '<th scope="col"><span class="visually-hidden">Act</span></th></tr></thead>'
        "<tbody><tr><td>CO2</td></tr><tr><td>CH4</td></tr></tbody></table></div>"
    )


def test_a_table_may_be_named_by_a_heading_instead():
    html = render('{% call(row) ui.data_table(rows, ["Item"], labelledby="items-h") %}{% endcall %}', rows=[1])
    assert html.startswith('<div class="table-scroll" tabindex="0" role="region" aria-labelledby="items-h">')


def test_a_table_without_rows_shows_its_empty_sentence_instead():
    source = '{% call(row) ui.data_table(rows, ["Key"], label="Keys", empty="No keys yet."{}) %}{% endcall %}'
    assert render(source.replace("{}", ""), rows=[]) == '<p class="muted">No keys yet.</p>'
    assert render(source.replace("{}", ", empty_class=none"), rows=[]) == "<p>No keys yet.</p>"


def test_a_table_without_an_empty_sentence_is_shown_even_without_rows():
    html = render('{% call(row) ui.data_table(rows, ["User"], label="Users") %}{% endcall %}', rows=[])
    assert "<tbody></tbody>" in html


def test_the_cell_text_of_a_row_is_escaped():
    html = render(
        '{% call(row) ui.data_table(rows, ["X"], label="X") %}<tr><td>{{ row }}</td></tr>{% endcall %}', rows=["<b>"]
    )
    assert "<td>&lt;b&gt;</td>" in html


def test_a_button_form_posts_the_form_token_then_its_hidden_values():
    html = render(
        '{{ ui.button_form("/batch/download", "XLSX", "primary", id="download-xlsx", confirm="Sure?",'
        ' hidden={"token": "t1", "format": "xlsx"}) }}',
        csrf="token-of-the-session",
    )
    assert html == (
        '<form method="post" action="/batch/download" class="inline" data-confirm="Sure?">'
        '<input type="hidden" name="csrf_token" value="token-of-the-session">'
        '<input type="hidden" name="token" value="t1"><input type="hidden" name="format" value="xlsx">'
        '<button type="submit" class="primary" id="download-xlsx">XLSX</button></form>'
    )


def test_a_button_names_its_object_to_a_screen_reader_and_carries_a_flag_for_scripts():
    html = render(
        '{{ ui.button_form("/x", "Disable", "danger small", aria_label="Disable a@b", flag="data-x") }}', csrf="c"
    )
    assert '<button type="submit" class="danger small" aria-label="Disable a@b" data-x>Disable</button>' in html


def test_a_get_button_form_carries_no_form_token():
    html = render('{{ ui.button_form("/app/admin/audit/chain", "Check", "primary", method="get", id="check-chain") }}')
    assert html == (
        '<form method="get" action="/app/admin/audit/chain" class="inline">'
        '<button type="submit" class="primary" id="check-chain">Check</button></form>'
    )


def test_a_field_has_its_label_control_help_and_error_in_that_order():
    html = render(
        '{% call ui.field("f-name", "Name", "As printed", error="Too long", mark="required") %}<input id="f-name">{% endcall %}'
    )
    assert html == (
        '<label for="f-name">Name <abbr class="req" title="required">*</abbr></label><input id="f-name">'
        '<p class="help" id="f-name-help">As printed</p><p class="field-error" id="f-name-error">Too long</p>'
    )


def test_a_field_without_help_or_error_is_its_label_and_control():
    html = render('{% call ui.field("kind", "Kind") %}<select id="kind"></select>{% endcall %}')
    assert html == '<label for="kind">Kind</label><select id="kind"></select>'


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        ("Enter a number", '<p class="field-error" id="e-x">Enter a number</p>'),
        (["Too small", "Not a whole number"], '<p class="field-error" id="e-x">Too small<br>Not a whole number</p>'),
        (None, ""),
        ([], ""),
    ],
)
def test_a_field_error_is_one_reason_or_several_on_lines_of_their_own(reasons, expected):
    assert render('{{ ui.field_error("e-x", reasons) }}', reasons=reasons) == expected


def test_a_field_error_may_be_announced_at_once():
    assert render('{{ ui.field_error("file-error", "Too large", alert=true) }}') == (
        '<p class="field-error" id="file-error" role="alert">Too large</p>'
    )


def test_a_control_without_help_is_described_by_its_error_only_when_it_has_one():
    assert render('<input{{ ui.invalid("e-x", "wrong") }}>') == '<input aria-invalid="true" aria-describedby="e-x">'
    assert render('<input{{ ui.invalid("e-x", none) }}>') == "<input>"


def test_a_control_with_help_is_described_by_the_help_and_then_its_error():
    assert (
        render('<input{{ ui.described("h", "e", "wrong") }}>') == '<input aria-describedby="h e" aria-invalid="true">'
    )
    assert render('<input{{ ui.described("h", "e", none) }}>') == '<input aria-describedby="h">'
