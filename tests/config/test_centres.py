"""The platform's centres (config/centres.yaml), HOTLINE_CENTRE checked against them, the
shipped Asterisk's systemname, and the embedded PBX numbering its calls as that Asterisk."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from config.centres import (
    DEFAULT_CENTRE,
    FILE_NAME,
    check_centres,
    load_centres,
    owns_callid,
)
from config.settings import CONFIG_DIR, Settings
from config.yamlfile import ConfigError
from pbx.simulator.config import SimulatorConfig
from pbx.simulator.core import PbxCore
from pbx.simulator.desclock import DesClock

ASTERISK_CONF = CONFIG_DIR.parent / "pbx" / "asterisk" / "asterisk.conf"
SEVEN = ("xiaoshan", "yuhang", "fuyang", "tonglu", "chunan", "jiande", "linan")


def test_the_shipped_file_names_the_city_centre_and_the_seven_districts() -> None:
    centres = load_centres(CONFIG_DIR)
    assert centres.default == DEFAULT_CENTRE == "city"
    assert tuple(centres.centres) == ("city", *SEVEN)
    assert [c.name[:2] for c in centres.centres.values()][1:] == [
        "萧山",
        "余杭",
        "富阳",
        "桐庐",
        "淳安",
        "建德",
        "临安",
    ]
    assert check_centres(CONFIG_DIR) == []


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / FILE_NAME).write_text(text, encoding="utf-8")
    return tmp_path


def test_bad_codes_names_and_default_are_named_with_their_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "version: 1\ndefault: xiaoshan\ncentres:\n  city:\n    name: 市\n"
        "  Xiao-Shan:\n    name: 萧山\n  yuhang: {}\n  city:\n    name: again\n",
    )
    with pytest.raises(ConfigError) as e:
        load_centres(tmp_path)
    text = str(e.value)
    assert "centres.yaml:9: error: key 'city' written twice (first on line 4)" in text
    assert "centres.yaml:6: error: centre code 'Xiao-Shan'" in text
    assert "centres.yaml:8: error: centre yuhang: no name" in text
    assert "centres.yaml:2: error: default: 'xiaoshan' must be 'city'" in text


def test_settings_take_a_centre_of_the_file_and_refuse_others(monkeypatch) -> None:
    monkeypatch.delenv("HOTLINE_CENTRE", raising=False)
    assert Settings().centre == "city"
    assert Settings(centre="linan").centre == "linan"
    with pytest.raises(ValidationError, match=r"HOTLINE_CENTRE='hangzhou' is not a centre of"):
        Settings(centre="hangzhou")
    monkeypatch.setenv("HOTLINE_CENTRE", "yuhang")
    assert Settings().centre == "yuhang"


def test_a_site_without_the_file_runs_as_the_default_centre_only(tmp_path: Path) -> None:
    assert Settings(config_dir=tmp_path).centre == DEFAULT_CENTRE
    with pytest.raises(ValidationError, match="not a centre"):
        Settings(config_dir=tmp_path, centre="fuyang")
    (p,) = check_centres(tmp_path)
    assert p.severity == "warning" and "runs as the one centre 'city'" in p.message


def test_config_check_checks_the_centres(tmp_path: Path) -> None:
    from hotline.cli import app

    for path in CONFIG_DIR.iterdir():
        if path.suffix in (".yaml", ".csv"):
            shutil.copy(path, tmp_path / path.name)
    r = CliRunner().invoke(app, ["config", "check", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "8 centres" in r.output
    text = (tmp_path / FILE_NAME).read_text("utf-8").replace("  linan:", "  lin-an:")
    (tmp_path / FILE_NAME).write_text(text, "utf-8")
    r = CliRunner().invoke(app, ["config", "check", "--dir", str(tmp_path)])
    assert r.exit_code == 1, r.output
    assert "error: centre code 'lin-an' is not lower-case letters and digits" in r.output


def test_the_shipped_asterisk_sets_the_default_centre_as_its_systemname() -> None:
    options = ASTERISK_CONF.read_text("utf-8").split("[options]", 1)[1].split("\n[", 1)[0]
    (value,) = re.findall(r"^systemname\s*=\s*(\S+)", options, re.M)
    assert value == DEFAULT_CENTRE


def test_a_callid_belongs_to_the_centre_its_systemname_names() -> None:
    assert owns_callid("xiaoshan", "xiaoshan-1795966595.12")
    assert not owns_callid("xiaoshan", "yuhang-1795966595.12")
    assert not owns_callid("xiaoshan", "1795966595.12")
    assert owns_callid("city", "city-1795966595.12")
    assert owns_callid("city", "1795966595.12")  # an Asterisk with no systemname
    assert not owns_callid("city", "cityx-1795966595.12")
    assert not owns_callid("yu", "yuhang-1795966595.12")


def test_the_embedded_pbx_numbers_its_channels_as_asterisk_with_a_systemname() -> None:
    def pair(systemname: str) -> tuple[str, str]:
        core = PbxCore(
            DesClock(epoch=1795966595.0),
            lambda *a: None,
            SimulatorConfig(systemname=systemname),
        )
        c1, c2 = core._new_pair("s", "from-pstn", None)
        return c1.uniqueid, c2.linkedid

    assert pair("") == ("1795966595.0", "1795966595.0")
    assert pair("tonglu") == ("tonglu-1795966595.0", "tonglu-1795966595.0")
