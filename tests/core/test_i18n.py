"""The console and the API speak Simplified Chinese by default and English on request.

The .mo catalog is build output (`make install` compiles it from the .po), so these tests also
catch a catalog that is missing or older than the .po it comes from.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from tests.apiclient import ApiClient
from tests.conftest import World

PO_FILE = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES" / "django.po"


@dataclass
class Entry:
    msgid: str = ""
    context: str | None = None  # msgctxt, for pgettext
    msgid_plural: str | None = None
    msgstrs: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (enough of the format for what makemessages writes)."""
    entries: list[Entry] = []
    entry, key = Entry(), ""

    def finish() -> None:
        nonlocal entry
        if key:
            entries.append(entry)
        entry = Entry()

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            finish()
            key = ""
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if key == "msgid":
                entry.msgid += text
            elif key == "msgctxt":
                entry.context = (entry.context or "") + text
            elif key == "msgid_plural":
                entry.msgid_plural = (entry.msgid_plural or "") + text
            else:
                index = int(key[7:-1]) if key.startswith("msgstr[") else 0
                entry.msgstrs[index] += text
        else:
            key, _, quoted = line.partition(" ")
            text = ast.literal_eval(quoted)
            if key == "msgid":
                entry.msgid = text
            elif key == "msgctxt":
                entry.context = text
            elif key == "msgid_plural":
                entry.msgid_plural = text
            else:
                entry.msgstrs[int(key[7:-1]) if key.startswith("msgstr[") else 0] = text
    finish()
    return [e for e in entries if e.msgid]  # without the header


ENTRIES = read_po(PO_FILE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def test_the_sign_in_page_is_chinese_by_default(client: Client, db: None) -> None:
    response = client.get("/login/")

    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    html = response.content.decode()
    assert "登录" in html
    assert "Sign in" not in html


def test_the_sign_in_page_is_english_on_request(client: Client, db: None) -> None:
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert "Sign in" in html
    assert "登录" not in html


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "未找到该患者。"), ("en", "Patient not found.")],
)
def test_api_errors_are_translated(world: World, language: str, message: str) -> None:
    response = ApiClient(world.boss, language=language).get("/patients/999999")

    assert response.status == 404
    assert response.json["message"] == message


def test_the_po_file_translates_every_message() -> None:
    assert len(ENTRIES) > 300
    for entry in ENTRIES:
        assert "fuzzy" not in entry.flags, entry.msgid
        assert entry.msgstrs, entry.msgid
        for msgstr in entry.msgstrs.values():
            assert msgstr.strip(), f"no translation for {entry.msgid!r}"
            source = entry.msgid + (entry.msgid_plural or "")
            assert set(PLACEHOLDER.findall(msgstr)) == set(PLACEHOLDER.findall(source)), entry.msgid


def test_the_compiled_catalog_matches_the_po_file() -> None:
    """Run `make install` (or `make messages`) when this fails: the .mo is missing or stale."""
    with translation.override("zh-hans"):
        for entry in ENTRIES:
            context = entry.context
            if entry.msgid_plural is None:
                translated = (
                    translation.pgettext(context, entry.msgid)
                    if context is not None
                    else translation.gettext(entry.msgid)
                )
                assert translated == entry.msgstrs[0]
            else:
                for n in (1, 2):
                    translated = (
                        translation.npgettext(context, entry.msgid, entry.msgid_plural, n)
                        if context is not None
                        else translation.ngettext(entry.msgid, entry.msgid_plural, n)
                    )
                    assert translated == entry.msgstrs[0]
