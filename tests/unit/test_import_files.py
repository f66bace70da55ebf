"""Reading legacy member files and their cells: encodings, delimiters, headers, dates, amounts, genders."""

import datetime as dt
import io

import openpyxl
import pytest

from tenants.services.import_files import (
    CellError,
    FileProblem,
    cell_text,
    data_rows,
    decode_csv,
    header_key,
    open_table,
    parse_card_number,
    parse_consent,
    parse_date,
    parse_gender,
    parse_points,
    parse_yuan,
    suggest_mapping,
)


def test_utf8_with_or_without_bom_then_gb18030_then_utf16_are_recognised():
    assert decode_csv("姓名\n张三\n".encode("utf-8-sig")) == ("姓名\n张三\n", "utf-8-sig")
    assert decode_csv("姓名\n张三\n".encode()) == ("姓名\n张三\n", "utf-8-sig")
    assert decode_csv("姓名\n张三\n".encode("gb18030")) == ("姓名\n张三\n", "gb18030")
    assert decode_csv("姓名\t手机\n".encode("utf-16")) == ("姓名\t手机\n", "utf-16")
    with pytest.raises(FileProblem) as problem:
        decode_csv(b"\x81\x20\x00\x00")
    assert problem.value.code == "undecodable"


def test_a_tab_separated_export_with_blank_lines_keeps_the_row_numbers_of_the_file():
    data = "姓名\t手机号\n\n张三\t13800000001\n\t\n李四\t13800000002\t多余\n".encode("gb18030")
    table = open_table("export.txt", data)
    assert (table.kind, table.encoding, table.header_row, table.headers) == ("csv", "gb18030", 1, ("姓名", "手机号"))
    assert list(data_rows(data, table.kind, table.encoding, 2)) == [(3, ["张三", "13800000001"]),
                                                                   (5, ["李四", "13800000002"])]


@pytest.mark.parametrize(("filename", "data", "code"), [
    ("a.csv", b"", "empty"),
    ("a.csv", b"\n\n", "empty"),
    ("a.doc", b"name\nx\n", "wrong_type"),
    ("a.xls", b"\xd0\xcf\x11\xe0", "wrong_type"),
    ("a.xlsx", b"name\nx\n", "unreadable"),
    ("a.xlsx", b"PK\x03\x04 broken", "unreadable"),
    ("a.csv", b",,\nx,y,z\n", "no_rows"),  # blank lines are skipped: x,y,z is the header
    ("a.csv", b"name,phone\n", "no_rows"),
])
def test_what_cannot_be_imported_at_all_is_named(filename, data, code):
    with pytest.raises(FileProblem) as problem:
        open_table(filename, data)
    assert problem.value.code == code


def test_an_xlsx_is_read_from_its_first_sheet_with_typed_cells():
    book = openpyxl.Workbook()
    book.active.append(["手机", "生日"])
    book.active.append([13800000001, dt.datetime(1990, 1, 2)])
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    table = open_table("会员.XLSX", data)
    assert table.kind == "xlsx" and table.headers == ("手机", "生日")
    assert list(data_rows(data, "xlsx", "", 2)) == [(2, [13800000001, dt.datetime(1990, 1, 2)])]


def test_headers_in_chinese_and_english_suggest_the_fields():
    headers = ["会员姓名", "手机号码", "E-mail", "出生日期", "性别", "实体卡号", "开卡日期", "会员等级",
               "当前积分", "储值余额（元）", "赠送余额", "累计消费金额", "最近消费时间", "备注信息", "同意营销", "鞋码",
               "Hotel name"]
    assert suggest_mapping(headers) == [
        "name", "phone", "email", "birthday", "gender", "card_number", "joined_on", "tier", "points",
        "stored_value", "stored_value_bonus", "cumulative_spend", "last_purchase_on", "notes", "marketing_consent",
        None, None]


def test_a_field_is_suggested_for_one_column_only_and_the_longest_word_wins():
    assert suggest_mapping(["手机", "电话", "余额", "赠送余额"]) == \
        ["phone", None, "stored_value", "stored_value_bonus"]
    assert suggest_mapping(["会员手机号", "Member Name"]) == ["phone", "name"]
    assert header_key(" Card No. (实体) ") == "cardno"


def test_cells_read_as_a_person_sees_them():
    assert cell_text(13800000001.0) == "13800000001"
    assert cell_text(12.5) == "12.5"
    assert cell_text('="13800000001"') == "13800000001"
    assert cell_text("'0086138") == "0086138"
    assert cell_text(dt.datetime(2024, 3, 5)) == "2024-03-05"
    assert cell_text(None) == "" and cell_text("\u3000张三 ") == "张三"


@pytest.mark.parametrize("value", ["2024-03-05", "2024/3/5", "20240305", 20240305, "2024.03.05", "2024年3月5日",
                                   "2024-03-05 10:30:00", "2024/3/5T08:00", dt.datetime(2024, 3, 5, 9), 45356,
                                   dt.date(2024, 3, 5)])
def test_dates_in_common_forms(value):
    assert parse_date(value) == dt.date(2024, 3, 5)


@pytest.mark.parametrize("value", ["2024-02-30", "05/03/2024", "next week", "1850-01-01", "2024-3", 99999999])
def test_what_is_not_a_date(value):
    with pytest.raises(CellError) as err:
        parse_date(value)
    assert err.value.code == "invalid_date"


def test_empty_cells_are_no_value():
    assert parse_date("") is None and parse_date(None) is None
    assert parse_yuan("") is None and parse_points(None) is None
    assert parse_gender("") is None and parse_consent("") is False and parse_card_number(" ") is None


@pytest.mark.parametrize(("value", "fen"), [("128", 12800), ("128.5", 12850), ("¥1,234.56", 123456), (88.1, 8810),
                                            (0, 0), ("0.00", 0), ("￥ 12 元", 1200), (3, 300)])
def test_amounts_in_yuan_become_fen(value, fen):
    assert parse_yuan(value) == fen


@pytest.mark.parametrize(("value", "code"), [("-5", "negative"), (-0.5, "negative"), ("1.234", "too_many_decimals"),
                                             ("abc", "invalid_amount"), ("NaN", "invalid_amount"),
                                             ("1e12", "invalid_amount"), (True, "invalid_amount")])
def test_amounts_refused(value, code):
    with pytest.raises(CellError) as err:
        parse_yuan(value)
    assert err.value.code == code


def test_points_are_non_negative_whole_numbers():
    assert parse_points("1,200") == 1200 and parse_points(15.0) == 15 and parse_points("0") == 0
    for value, code in (("1.5", "invalid_points"), (-1, "negative"), ("many", "invalid_points")):
        with pytest.raises(CellError) as err:
            parse_points(value)
        assert err.value.code == code


def test_genders_and_consent():
    assert [parse_gender(v) for v in ("男", "女", "M", "f", "Male", "FEMALE", "其他", "未知")] == \
        ["male", "female", "male", "female", "male", "female", "other", None]
    with pytest.raises(CellError) as err:
        parse_gender("X")
    assert (err.value.code, err.value.params) == ("unknown_gender", {"value": "x"})
    assert [parse_consent(v) for v in ("是", "否", "Y", "no", 1, 0, True, "同意")] == \
        [True, False, True, False, True, False, True, True]
    with pytest.raises(CellError):
        parse_consent("maybe")


def test_card_numbers():
    assert parse_card_number(" 8800 1234 ") == "88001234"
    assert parse_card_number(8800123456789) == "8800123456789"
    with pytest.raises(CellError):
        parse_card_number("12")
    with pytest.raises(CellError):
        parse_card_number("卡-001")
