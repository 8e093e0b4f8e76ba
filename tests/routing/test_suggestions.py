"""The routing help ranks the catalogue for a description: flags the legal routes a citizen
must be told, learns from dispatchers' choices, and beats the trivial baselines on the part of
the labelled sample that was never looked at while tuning."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from config.catalogue import Catalogue, Department, LegalRoute, Matter, load_catalogue
from config.settings import CONFIG_DIR
from routing.learned_choices import Choice, learn
from routing.suggestions import Suggester

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "routing_sample.csv"


@pytest.fixture(scope="module")
def shipped() -> Suggester:
    return Suggester(load_catalogue(CONFIG_DIR))


def sample(part: str) -> list[tuple[str, str]]:
    with SAMPLE.open(encoding="utf-8", newline="") as f:
        return [(r["text"], r["matter"]) for r in csv.DictReader(f) if r["part"] == part]


def codes(suggester: Suggester, text: str) -> list[str]:
    return [s.matter.code for s in suggester.suggest(text)]


def small() -> Catalogue:
    """A catalogue whose words are split on spaces (no jieba): three matters."""
    departments = {
        "a": Department("a", "甲局", "bureau", aliases=("甲",)),
        "b": Department("b", "乙局", "bureau"),
    }
    matters = {
        "M1": Matter("M1", "噪音 扰民", "a", ("噪音", "吵闹", "半夜"), None, 3),
        "M2": Matter("M2", "工地 施工", "b", ("工地", "施工", "噪音"), None, 5),
        "M3": Matter("M3", "劳动 合同", "b", ("辞退", "赔偿"), LegalRoute.LABOUR_ARBITRATION, 15),
    }
    return Catalogue(departments, matters)


def test_the_words_of_a_matter_rank_it_first() -> None:
    s = Suggester(small(), tokenize=str.split)
    assert codes(s, "半夜 吵闹") == ["M1"]
    assert codes(s, "工地 施工") == ["M2"]
    assert codes(s, "噪音") == ["M1", "M2"]  # in M1's name and keywords, M2's keywords only
    assert codes(s, "甲 噪音")[0] == "M1"  # the department's alias counts too
    assert s.suggest("") == [] and s.suggest("天气 晴朗") == []
    assert [x.department for x in s.suggest("工地")] == ["乙局"]


def test_a_litigation_or_arbitration_matter_is_flagged_with_what_to_say() -> None:
    s = Suggester(small(), tokenize=str.split)
    (top,) = s.suggest("被 辞退 没有 赔偿")
    assert top.flagged and top.matter.legal_route is LegalRoute.LABOUR_ARBITRATION
    assert top.advice() == "请告知市民：此类事项依法可通过劳动仲裁途径解决（乙局）"
    assert not s.suggest("工地")[0].flagged and s.suggest("工地")[0].advice() is None


def test_dispatchers_choices_change_the_ranking() -> None:
    s = Suggester(small(), tokenize=str.split)
    assert codes(s, "噪音 装修")[0] == "M1"
    taught = s.taught([("楼上 装修 噪音", "M2"), Choice("装修 电钻", "M2"), ("x", "gone")])
    assert codes(taught, "噪音 装修")[0] == "M2"
    assert codes(taught, "装修") == ["M2"]  # a word no catalogue field had
    assert codes(s, "装修") == []  # the original is unchanged
    assert codes(s.taught([]), "噪音 装修")[0] == "M1"  # teaching replaces, not adds
    # one choice is an anecdote: a word counts once two of a matter's choices had it
    assert codes(s.taught([("装修 电钻", "M2")]), "装修") == []


def test_choices_teach_the_shipped_catalogue_citizens_words(shipped: Suggester) -> None:
    text = "共享充电宝的押金一直退不回来"
    assert "SJ-024" not in codes(shipped, text)  # 押金 is a landlord's deposit (FG-004)
    taught = shipped.taught(
        [("借了个共享充电宝，押金不给退", "SJ-024"), ("充电宝押金退不了", "SJ-024")]
    )
    assert codes(taught, text)[:1] == ["SJ-024"]


def test_learn_counts_a_word_once_per_description_and_skips_unknown_matters() -> None:
    learned = learn(
        [("装修 装修 装修", "M2"), ("装修 噪音", "M2"), ("装修", "M9")],
        str.split,
        known={"M1", "M2"}.__contains__,
    )
    assert learned.words == {"M2": Counter({"装修": 2, "噪音": 1})}
    assert learned.choices == {"M2": 2}


@pytest.mark.parametrize(
    ("text", "matter"),
    [
        ("公司三个月不发工资，老板电话也打不通", "RS-003"),
        ("楼下烧烤店油烟太大了", "CG-009"),
        ("小区停电了", "GD-001"),
        ("闻到很重的煤气味", "RQ-001"),
    ],
)
def test_the_shipped_catalogue_finds_plain_requests(
    shipped: Suggester, text: str, matter: str
) -> None:
    assert matter in codes(shipped, text)


def test_a_dismissal_is_flagged_for_labour_arbitration(shipped: Suggester) -> None:
    top = shipped.suggest("公司无缘无故把我辞退了，一分钱赔偿都没有")
    flagged = [s for s in top if s.matter.code == "RS-004"]
    assert flagged and flagged[0].flagged
    assert flagged[0].department == "杭州市劳动人事争议仲裁院"
    assert "劳动仲裁" in (flagged[0].advice() or "")


def test_the_held_out_sample_beats_the_baselines(shipped: Suggester) -> None:
    """The held-out part (every third description, set apart before any tuning) is ranked
    better than by the matter with most keywords found verbatim, and far better than always
    the most frequent matter; the floors are some points under what was measured (top-1 73%,
    top-3 92% for 115 descriptions) so that a change making it worse fails."""
    held, dev = sample("held_out"), sample("dev")
    assert len(held) >= 100 and len(held) + len(dev) >= 300
    catalogue = shipped.catalogue

    def keyword_baseline(text: str) -> str | None:
        hits = {c: sum(k in text for k in m.keywords) for c, m in catalogue.matters.items()}
        best = max(hits, key=lambda c: hits[c])
        return best if hits[best] else None

    ours1 = sum(codes(shipped, t)[:1] == [m] for t, m in held) / len(held)
    ours3 = sum(m in codes(shipped, t) for t, m in held) / len(held)
    base1 = sum(keyword_baseline(t) == m for t, m in held) / len(held)
    most = Counter(m for _, m in dev).most_common(1)[0][0]
    frequent = sum(m == most for _, m in held) / len(held)
    assert ours1 > base1 + 0.05, (ours1, base1)
    assert ours1 > frequent + 0.5
    assert ours1 >= 0.65 and ours3 >= 0.85, (ours1, ours3)
