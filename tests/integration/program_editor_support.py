"""Reading the program editor's forms as a browser would post them (what the page rendered, nothing else)."""

from __future__ import annotations

from html.parser import HTMLParser


class PartForm(HTMLParser):
    """The inputs of the form with id ``form_id``: {name: [values]} as submitted, plus each input's message."""

    def __init__(self, form_id: str = "program-part-form"):
        super().__init__()
        self.form_id, self.inside, self.values, self.select = form_id, False, {}, None
        self.errors: dict[str, str] = {}
        self._error_for = None
        self._texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and not a["name"].startswith("_"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values.setdefault(a["name"], []).append(a.get("value", "on"))
                else:
                    self.values.setdefault(a["name"], [])
            else:
                self.values.setdefault(a["name"], []).append(a.get("value") or "")
        elif tag == "select" and a.get("name") and not a["name"].startswith("_"):
            self.select = a["name"]
            self.values.setdefault(self.select, [])
        elif tag == "option" and self.select is not None:
            if "selected" in a or not self.values[self.select]:
                if "selected" in a:
                    self.values[self.select] = [a.get("value", "")]
                elif not self.values[self.select]:
                    self.values[self.select] = [a.get("value", "")]
                    self._first_default = True
        elif tag == "p" and (a.get("id") or "").endswith("-error"):
            self._error_for, self._texts = a["id"][: -len("-error")], []

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        if tag == "select":
            self.select = None
        if tag == "p" and self._error_for:
            self.errors[self._error_for] = "".join(self._texts).strip()
            self._error_for = None

    def handle_data(self, data):
        if self._error_for:
            self._texts.append(data)


def read_form(html: str, form_id: str = "program-part-form") -> PartForm:
    parser = PartForm(form_id)
    parser.feed(html)
    return parser


def post_data(parsed: PartForm) -> list[tuple[str, str]]:
    return [(k, v) for k, vs in parsed.values.items() for v in vs]


def input_id(name: str) -> str:
    return "f-" + name.replace(".", "-").replace("_", "-")
