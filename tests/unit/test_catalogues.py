"""Chinese first, English complete: every message of the code has both translations."""

from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2] / "saas" / "translations"


def catalogue(locale: str):
    with open(ROOT / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def template_ids():
    with open(ROOT / "messages.pot", "rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


def test_every_message_has_a_chinese_translation():
    zh = catalogue("zh_Hans_CN")
    missing = [m.id for m in zh if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))]
    fuzzy = [m.id for m in zh if m.id and m.fuzzy]
    assert missing == [] and fuzzy == []
    assert template_ids() <= {m.id for m in zh if m.id}


def test_every_message_is_in_the_english_catalogue():
    en = catalogue("en")
    assert template_ids() <= {m.id for m in en if m.id}
    assert [m.id for m in en if m.id and m.fuzzy] == []


def test_the_template_is_up_to_date_with_the_code():
    import subprocess
    import sys
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pot") as out:
        subprocess.run(
            [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg", "-k", "_l",
             "-k", "lazy_gettext", "-k", "ngettext:1,2", "-o", out.name, "saas", "tenants", "templates"],
            check=True, cwd=ROOT.parent.parent, capture_output=True,
        )
        with open(out.name, "rb") as fh:
            current = {m.id for m in read_po(fh) if m.id}
    assert current - template_ids() == set(), "run `make messages` and translate the new strings"


def test_every_domain_error_code_has_a_message():
    from tenants.domain.errors import ERROR_CODES
    from tenants.services.errors import MESSAGES

    assert ERROR_CODES - set(MESSAGES) == set()
