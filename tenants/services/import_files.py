"""Reading legacy member files (CSV in UTF-8 or GB18030, XLSX) and their cells. Pure: no Flask, no database.

Problems are reported as stable codes with parameters (`FileProblem`, `CellError`); the import service
translates them when it shows them. Row numbers are the ones a person sees in the file (the header is
usually row 1), so a report can be checked against the spreadsheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# The member fields a column can be mapped to, in the order the mapping form offers them.
FIELDS = (
    "name", "phone", "email", "birthday", "gender", "card_number", "joined_on", "tier", "points",
    "stored_value", "stored_value_bonus", "cumulative_spend", "last_purchase_on", "notes", "marketing_consent",
)

# Header words (Chinese and English) that suggest a field. Compared after `header_key`.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "会员姓名", "客户姓名", "会员名称",
             "name", "fullname", "membername", "customername"),
    "phone": ("手机", "手机号", "手机号码", "电话", "联系电话", "电话号码", "移动电话",
              "phone", "mobile", "mobilephone", "phonenumber", "cellphone", "cell", "telephone", "tel"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件",
              "email", "mail", "emailaddress"),
    "birthday": ("生日", "出生日期", "生日日期",
                 "birthday", "birthdate", "dateofbirth", "dob"),
    "gender": ("性别",
               "gender", "sex"),
    "card_number": ("卡号", "会员卡号", "实体卡号",
                    "card", "cardnumber", "cardno", "membercard"),
    "joined_on": ("入会日期", "入会时间", "注册日期", "注册时间", "开卡日期", "开卡时间", "加入日期",
                  "joined", "joinedon", "joindate", "joineddate", "registered", "registrationdate", "membersince",
                  "signupdate"),
    "tier": ("等级", "会员等级", "级别", "会员级别", "卡类别",
             "tier", "level", "grade", "membershiplevel"),
    "points": ("积分", "积分余额", "可用积分", "当前积分",
               "points", "pointsbalance", "point"),
    "stored_value": ("储值余额", "储值", "余额", "本金余额", "储值本金", "充值余额",
                     "storedvalue", "balance", "principal", "storedvaluebalance"),
    "stored_value_bonus": ("赠送余额", "赠送金额", "赠送储值", "储值赠送",
                           "bonus", "bonusbalance", "giftbalance"),
    "cumulative_spend": ("累计消费", "累计消费金额", "消费总额", "累计金额", "消费金额",
                         "cumulativespend", "totalspend", "lifetimespend", "totalspent"),
    "last_purchase_on": ("最后消费", "最后消费日期", "最后消费时间", "最近消费", "最近消费日期", "最近消费时间",
                         "lastpurchase", "lastpurchasedate", "lastpurchaseon", "lastvisit", "lastorder"),
    "notes": ("备注", "说明", "备注信息",
              "notes", "note", "remarks", "remark", "comment", "comments"),
    "marketing_consent": ("营销同意", "接收营销", "同意营销", "营销短信", "同意接收",
                          "consent", "marketingconsent", "optin", "marketing"),
}

CSV_EXTENSIONS = (".csv", ".txt")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
MAX_COLUMNS = 200
MAX_ROWS = 1_000_000
MAX_FEN = 100_000_000_000  # ¥1,000,000,000: more is a typo
MAX_POINTS = 1_000_000_000_000
CSV_DELIMITERS = (",", "\t", ";", "|")


class FileProblem(Exception):
    """The file cannot be imported at all (code: empty, wrong_type, undecodable, unreadable, no_header, ...)."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


class CellError(Exception):
    """One cell is not what its column promises (code: invalid_date, negative, too_many_decimals, ...)."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Table:
    """What an upload is: its kind, the encoding of a CSV, and the header row."""

    kind: str  # csv | xlsx
    encoding: str
    header_row: int
    headers: tuple[str, ...]


# --- files ----------------------------------------------------------------------------------------


def detect_kind(filename: str, data: bytes) -> str:
    name = (filename or "").strip().lower()
    if name.endswith(XLSX_EXTENSIONS):
        if not data.startswith(b"PK\x03\x04"):
            raise FileProblem("unreadable")
        return "xlsx"
    if name.endswith(CSV_EXTENSIONS):
        return "csv"
    raise FileProblem("wrong_type")


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of a CSV and its encoding: UTF-8 (with or without BOM), else GB18030; UTF-16 when it says so."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # a binary file, or UTF-16 without its mark
            break
        return text, encoding
    raise FileProblem("undecodable")


def _csv_records(text: str) -> Iterator[tuple[int, list]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max(CSV_DELIMITERS, key=first_line.count) if any(d in first_line for d in CSV_DELIMITERS) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as err:
        raise FileProblem("unreadable") from err


def _xlsx_records(data: bytes) -> Iterator[tuple[int, list]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001 (a broken zip, a .xls renamed, an encrypted workbook: all unreadable)
        raise FileProblem("unreadable") from err
    try:
        if not book.worksheets:
            raise FileProblem("no_header")
        sheet = book.worksheets[0]
        try:
            if hasattr(sheet, "reset_dimensions"):  # some writers store a wrong size: read what is there
                sheet.reset_dimensions()
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(values)
        except FileProblem:
            raise
        except Exception as err:  # noqa: BLE001 (a corrupt part inside the workbook)
            raise FileProblem("unreadable") from err
    finally:
        book.close()


def _records(data: bytes, kind: str, encoding: str) -> Iterator[tuple[int, list]]:
    """Every non-blank record with its row number in the file."""
    if kind == "xlsx":
        records = _xlsx_records(data)
    else:
        text = data.decode(encoding)
        records = _csv_records(text)
    for number, values in records:
        if any(cell_text(v) for v in values):
            yield number, values


def open_table(filename: str, data: bytes) -> Table:
    """Check that `data` is a CSV or XLSX with a header row and at least one row of data."""
    if not data:
        raise FileProblem("empty")
    kind = detect_kind(filename, data)
    encoding = decode_csv(data)[1] if kind == "csv" else ""
    records = _records(data, kind, encoding)
    first = next(records, None)
    if first is None:
        raise FileProblem("empty")
    header_row, header = first
    headers = [cell_text(v) for v in header]
    while headers and not headers[-1]:
        headers.pop()
    if not any(headers):
        raise FileProblem("no_header")
    if len(headers) > MAX_COLUMNS:
        raise FileProblem("too_many_columns", max=MAX_COLUMNS)
    if next(records, None) is None:
        raise FileProblem("no_rows")
    return Table(kind=kind, encoding=encoding, header_row=header_row, headers=tuple(headers))


def data_rows(data: bytes, kind: str, encoding: str, width: int) -> Iterator[tuple[int, list]]:
    """The rows after the header, each padded or cut to `width` cells, with their row numbers."""
    records = _records(data, kind, encoding)
    if next(records, None) is None:
        return
    for number, values in records:
        values = list(values[:width])
        if len(values) < width:
            values.extend([None] * (width - len(values)))
        yield number, values


# --- mapping --------------------------------------------------------------------------------------


def header_key(text: str) -> str:
    """A header reduced for comparison: lower case, no spaces, punctuation or bracketed units (元, ¥, yuan)."""
    text = re.sub(r"[(（\[【].*?[)）\]】]", "", str(text or "")).lower()
    return re.sub(r"[\s_\-.:：/#*]+", "", text)


_KEYS = {field: tuple(header_key(s) for s in words) for field, words in SYNONYMS.items()}


def suggest_mapping(headers) -> list[str | None]:
    """The field each column probably holds (None: not imported). Exact header words first, then the longest
    word a header contains (English words of 4 letters or more only: "tel" is in "hotel"); each field goes to
    one column at most."""
    keys = [header_key(h) for h in headers]
    mapping: list[str | None] = [None] * len(keys)
    taken: set[str] = set()
    for index, key in enumerate(keys):
        for field in FIELDS:
            if field not in taken and key and key in _KEYS[field]:
                mapping[index] = field
                taken.add(field)
                break
    for index, key in enumerate(keys):
        if mapping[index] is not None or not key:
            continue
        best: tuple[int, str] | None = None
        for field in FIELDS:
            if field in taken:
                continue
            for word in _KEYS[field]:
                if len(word) >= (4 if word.isascii() else 2) and word in key and (best is None or len(word) > best[0]):
                    best = (len(word), field)
        if best is not None:
            mapping[index] = best[1]
            taken.add(best[1])
    return mapping


# --- cells ----------------------------------------------------------------------------------------


def cell_text(value) -> str:
    """A cell as the text a person sees: numbers without a spurious ".0", dates as ISO, Excel's ="..." unwrapped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value).strip()
    if text.startswith('="') and text.endswith('"') and len(text) >= 3:
        text = text[2:-1].strip()
    elif text.startswith("'"):
        text = text[1:].strip()
    return text


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_date(value) -> dt.date | None:
    """A date from 2024-03-05, 2024/3/5, 2024.3.5, 20240305, 2024年3月5日 (a time after it is ignored), an
    Excel date cell or an Excel day number. None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return _plausible(value.date())
    if isinstance(value, dt.date):
        return _plausible(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= value <= 29991231:
            value = str(int(value))
        elif 1 <= value < 2958466:
            return _plausible(_EXCEL_EPOCH + dt.timedelta(days=int(value)))
        else:
            raise CellError("invalid_date")
    text = cell_text(value)
    text = re.split(r"[\sT]", text, maxsplit=1)[0]
    text = text.replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").replace(".", "-")
    if re.fullmatch(r"\d{8}", text):
        parts = (text[:4], text[4:6], text[6:])
    else:
        match = _DATE_RE.fullmatch(text)
        if match is None:
            raise CellError("invalid_date")
        parts = match.groups()
    try:
        return _plausible(dt.date(int(parts[0]), int(parts[1]), int(parts[2])))
    except ValueError as err:
        raise CellError("invalid_date") from err


def _plausible(day: dt.date) -> dt.date:
    if day.year < 1900:
        raise CellError("invalid_date")
    return day


def _decimal(value, code: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise CellError(code)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = re.sub(r"[\s,，¥￥元]", "", cell_text(value))
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation as err:
        raise CellError(code) from err
    if not number.is_finite():
        raise CellError(code)
    return number


def parse_yuan(value) -> int | None:
    """An amount in yuan ("1,234.50", "¥88", 88.5) as fen: never negative, at most 2 decimals. None when empty."""
    number = _decimal(value, "invalid_amount")
    if number is None:
        return None
    if number < 0:
        raise CellError("negative")
    if number != number.quantize(Decimal("0.01")):
        raise CellError("too_many_decimals")
    fen = int(number * 100)
    if fen > MAX_FEN:
        raise CellError("invalid_amount")
    return fen


def parse_points(value) -> int | None:
    """A points balance: a whole number, never negative. None when empty."""
    number = _decimal(value, "invalid_points")
    if number is None:
        return None
    if number < 0:
        raise CellError("negative")
    if number != number.to_integral_value() or number > MAX_POINTS:
        raise CellError("invalid_points")
    return int(number)


_GENDERS = {
    "男": "male", "男性": "male", "先生": "male", "m": "male", "male": "male", "man": "male",
    "女": "female", "女性": "female", "女士": "female", "f": "female", "female": "female", "woman": "female",
    "其他": "other", "其它": "other", "other": "other", "o": "other",
}
_UNKNOWN_GENDER = {"未知", "保密", "不详", "unknown", "-", "—", "/"}


def parse_gender(value) -> str | None:
    """男/女, M/F, male/female (and 其他/other) as male, female, other; unknown markers and empty as None."""
    text = cell_text(value).lower()
    if not text or text in _UNKNOWN_GENDER:
        return None
    if text in _GENDERS:
        return _GENDERS[text]
    raise CellError("unknown_gender", value=text[:20])


_YES = {"是", "同意", "已同意", "接受", "y", "yes", "true", "t", "1", "on", "√", "✓", "✔"}
_NO = {"否", "不同意", "拒绝", "n", "no", "false", "f", "0", "off", "-", "—"}


def parse_consent(value) -> bool:
    """Consent to marketing messages: 是/否, Y/N, yes/no, true/false, 1/0; empty is no."""
    text = cell_text(value).lower()
    if not text or text in _NO:
        return False
    if text in _YES:
        return True
    raise CellError("invalid_consent", value=text[:20])


_CARD_RE = re.compile(r"^[0-9A-Za-z\-]{4,40}$")


def parse_card_number(value) -> str | None:
    text = re.sub(r"\s+", "", cell_text(value))
    if not text:
        return None
    if not _CARD_RE.match(text):
        raise CellError("invalid_card")
    return text
