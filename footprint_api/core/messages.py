"""The messages of each language (简体中文 and English), as data: YAML files per language in `locales/{lang}/` (one
per part of the application), with the same keys in each language. Every layer may read them: the pages, the PDF
report, the files a service writes; the web edge only chooses the reader's language (`web.i18n`)."""

from functools import cache
from pathlib import Path

import yaml

LANGUAGES = ("zh", "en")
LOCALES = Path(__file__).resolve().parent / "locales"


class Catalogue:
    """The messages of one language; `t(key, **values)` fills `{placeholders}` with plain strings, which the
    template then escapes like any other value."""

    def __init__(self, lang: str, messages: dict[str, str]):
        self.lang, self.messages = lang, messages

    def __call__(self, key: str, /, **values: object) -> str:
        # positional-only: a message may have a value named `key` (a JSON key of a refused document)
        message = self.messages[key]
        return message.format(**values) if values else message


@cache
def catalogue(lang: str) -> Catalogue:
    """All messages of a language: one YAML file per part of the application in `locales/{lang}/`; a key defined
    twice is an error, so two parts cannot silently overwrite each other's wording."""
    messages: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.yaml")):
        for key, value in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if str(key) in messages:
                raise ValueError(f"message {key!r} defined twice ({path.name})")
            messages[str(key)] = str(value)
    return Catalogue(lang, messages)
