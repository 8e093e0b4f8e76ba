"""The departments and the catalogue of matters as data: the shipped files load (at least 30
departments, 300 matters, the seven districts of the "1 + 7" platform), and each mistake is
reported with its file, line and fix, by the loader and by ``hotline config check``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.catalogue import (
    COLUMNS,
    DEPARTMENTS_FILE,
    MATTERS_FILE,
    LegalRoute,
    check_catalogue,
    load_catalogue,
)
from config.settings import CONFIG_DIR
from config.yamlfile import ConfigError

DEPARTMENTS = """\
version: 1
departments:
  hrss: {name: 杭州市人力资源和社会保障局, kind: bureau, aliases: [人社局]}
  hrss.arbitration: {name: 杭州市劳动人事争议仲裁院, kind: unit, parent: hrss}
  urban: {name: 杭州市城市管理局, kind: bureau}
"""
HEADER = ",".join(COLUMNS)


def write(tmp_path: Path, rows: list[str], departments: str = DEPARTMENTS) -> Path:
    (tmp_path / DEPARTMENTS_FILE).write_text(departments, encoding="utf-8")
    (tmp_path / MATTERS_FILE).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return tmp_path


def test_the_shipped_catalogue() -> None:
    catalogue = load_catalogue(CONFIG_DIR)
    assert check_catalogue(CONFIG_DIR) == []
    assert len(catalogue.departments) >= 30 and len(catalogue.matters) >= 300
    names = {d.name for d in catalogue.departments.values()}
    for district in ("萧山", "余杭", "富阳", "桐庐", "淳安", "建德", "临安"):
        assert any(district in n for n in names), district
    assert {"杭州市住房和城乡建设局", "杭州市公安局", "国网杭州供电公司"} <= names
    wages = catalogue.matters["RS-003"]
    assert wages.name == "拖欠工资" and wages.legal_route is LegalRoute.LABOUR_INSPECTION
    assert catalogue.department_of(wages).name == "杭州市劳动保障监察支队"
    assert catalogue.department_of(wages).parent == "hrss"
    assert not wages.flagged
    contract = catalogue.matters["RS-004"]
    assert contract.legal_route is LegalRoute.LABOUR_ARBITRATION and contract.flagged
    assert all(m.keywords and m.limit_days >= 1 for m in catalogue.matters.values())


def test_a_good_file_loads_with_codes_or_names_and_chinese_routes(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            "RS-1,拖欠工资,hrss,欠薪|工资不发,labour_inspection,10",
            "RS-2,劳动合同争议,杭州市劳动人事争议仲裁院,辞退、赔偿,劳动仲裁,15",
            'CG-1,"占道经营, 流动摊贩",urban,摆摊,,3',
        ],
    )
    c = load_catalogue(tmp_path)
    assert c.matters["RS-2"].department == "hrss.arbitration"
    assert c.matters["RS-2"].keywords == ("辞退", "赔偿")
    assert c.matters["RS-2"].legal_route is LegalRoute.LABOUR_ARBITRATION
    assert c.matters["CG-1"].name == "占道经营, 流动摊贩" and c.matters["CG-1"].legal_route is None
    assert c.matters["RS-1"].keywords == ("欠薪", "工资不发")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("RS-9,拖欠工资,nobody,欠薪,,10", "unknown department 'nobody'"),
        ("RS-9,拖欠工资,hrss,欠薪,,", "no time limit"),
        ("RS-9,拖欠工资,hrss,欠薪,,ten", "limit_days 'ten' is not a number"),
        ("RS-9,拖欠工资,hrss,欠薪,,0", "limit_days '0' is not a number"),
        ("RS-9,拖欠工资,hrss,欠薪,court,10", "legal route 'court' is not known"),
        ("RS-9,,hrss,欠薪,,10", "no name"),
        ("RS 9,拖欠工资,hrss,欠薪,,10", "is not a code"),
        ("RS-9,拖欠工资,hrss,欠薪,10", "5 columns instead of 6"),
    ],
)
def test_each_bad_row_is_named_with_its_line(tmp_path: Path, row: str, message: str) -> None:
    write(tmp_path, ["RS-1,拖欠工资,hrss,欠薪,,10", "", row])
    problems = check_catalogue(tmp_path)
    assert [(p.file, p.line) for p in problems] == [(MATTERS_FILE, 4)], problems
    assert message in problems[0].message and problems[0].fix
    with pytest.raises(ConfigError, match=f"{MATTERS_FILE}:4: error"):
        load_catalogue(tmp_path)


def test_a_code_written_twice_names_both_lines(tmp_path: Path) -> None:
    write(
        tmp_path, ["RS-1,拖欠工资,hrss,欠薪,,10", "CG-1,摆摊,urban,摆摊,,3", "RS-1,欠薪,hrss,,,5"]
    )
    (p,) = check_catalogue(tmp_path)
    assert p.line == 4 and "RS-1 written twice (first on line 2)" in p.message


def test_a_quoted_cell_over_two_lines_keeps_the_line_numbers(tmp_path: Path) -> None:
    write(tmp_path, ['RS-1,"拖欠\n工资",hrss,欠薪,,10', "RS-2,欠薪,nobody,欠薪,,10"])
    (p,) = check_catalogue(tmp_path)
    assert p.line == 4


def test_missing_keywords_is_a_warning_only(tmp_path: Path) -> None:
    write(tmp_path, ["RS-1,拖欠工资,hrss,,,10"])
    (p,) = check_catalogue(tmp_path)
    assert p.severity == "warning" and "no keywords" in p.message
    assert load_catalogue(tmp_path).matters["RS-1"].keywords == ()


def test_a_wrong_header_is_named(tmp_path: Path) -> None:
    write(tmp_path, [])
    (tmp_path / MATTERS_FILE).write_text("code,name,dept\nRS-1,x,hrss\n", encoding="utf-8")
    (p,) = check_catalogue(tmp_path)
    assert p.line == 1 and "header" in p.message and HEADER in p.fix


def test_department_mistakes_are_named_with_their_lines(tmp_path: Path) -> None:
    bad = """\
version: 1
departments:
  hrss: {name: 杭州市人力资源和社会保障局, kind: bureau}
  hrss.arbitration: {name: 仲裁院, kind: unit}
  street: {name: 某街道, kind: street, parent: nowhere}
  Bad Code: {name: 坏, kind: bureau}
  urban: {name: 杭州市城市管理局, kind: office}
  urban2: {name: 杭州市人力资源和社会保障局, kind: bureau}
"""
    write(tmp_path, ["RS-1,拖欠工资,hrss,欠薪,,10"], departments=bad)
    found = {(p.line, p.message.split(":")[0]) for p in check_catalogue(tmp_path)}
    assert found == {
        (4, "department hrss.arbitration"),  # a unit without a parent
        (5, "department street"),  # its parent does not exist
        (6, "department code 'Bad Code' is not lower case with dots"),
        (7, "department urban"),  # kind office
        (8, "department urban2"),  # the name of another department
    }


def test_no_catalogue_files_is_an_empty_catalogue(tmp_path: Path) -> None:
    assert check_catalogue(tmp_path) == []
    assert load_catalogue(tmp_path).matters == {}
    (tmp_path / MATTERS_FILE).write_text(HEADER + "\n", encoding="utf-8")
    (p,) = check_catalogue(tmp_path)  # one file without the other
    assert p.file == DEPARTMENTS_FILE and "not found" in p.message


def test_a_full_list_of_seven_thousand_rows_loads(tmp_path: Path) -> None:
    rows = [f"M{i:05d},事项{i},hrss,关键词{i % 50}|其他,,{1 + i % 30}" for i in range(7000)]
    c = load_catalogue(write(tmp_path, rows))
    assert len(c.matters) == 7000 and c.matters["M06999"].limit_days == 1 + 6999 % 30


def test_config_check_prints_the_file_line_and_fix(tmp_path: Path) -> None:
    from hotline.cli import app

    for name in ("ivr.yaml", "skills.yaml", "pause_codes.yaml", "sounds.yaml"):
        if (CONFIG_DIR / name).exists():
            shutil.copy(CONFIG_DIR / name, tmp_path / name)
    write(tmp_path, ["RS-1,拖欠工资,hrss,欠薪,,10", "RS-2,合同,nobody,辞退,litigation,15"])
    r = CliRunner().invoke(app, ["config", "check", "--dir", str(tmp_path)])
    assert r.exit_code == 1, r.output
    assert "matters.csv:3: error: matter RS-2: unknown department 'nobody'" in r.output
    assert "fix: use a code or a name of departments.yaml" in r.output
    write(tmp_path, ["RS-1,拖欠工资,hrss,欠薪,,10"])
    r = CliRunner().invoke(app, ["config", "check", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "3 departments, 1 matters" in r.output
