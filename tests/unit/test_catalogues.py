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


def test_chinese_sentences_put_no_space_between_a_name_and_the_words_around_it():
    """Chinese has no spaces between words: "金卡是最高等级", not "金卡 是最高等级" (a tier, a person, a store)."""
    import re

    cjk = "[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]"
    spaced = re.compile(rf"%\((?:tier|name|store)\)s {cjk}|{cjk} %\((?:tier|name|store)\)s")
    zh = catalogue("zh_Hans_CN")
    found = [s for m in zh if m.id for s in (m.string if isinstance(m.string, tuple) else (m.string,))
             if s and spaced.search(s)]
    assert found == []
    assert zh.get("%(tier)s is the highest tier.").string % {"tier": "金卡"} == "金卡是最高等级。"


def test_the_brand_reads_huiyuan_huiyuan_in_both_languages():
    """The product's name is Huiyuan (会员): not the bare word 会员 ("member") in Chinese."""
    for locale in ("zh_Hans_CN", "en"):
        assert catalogue(locale).get("Huiyuan").string == "Huiyuan 会员", locale
