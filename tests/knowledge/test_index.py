"""The pure search index: segmentation of mixed text, validity windows, ranking, changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.knowledge import load_starter
from config.settings import CONFIG_DIR
from knowledge.index import ArticleIndex, IndexedArticle
from words.tokens import STOP_WORDS, tokenize

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def art(i: int, title: str, body: str = "正文", tags: tuple[str, ...] = (), **kw) -> IndexedArticle:
    return IndexedArticle(i, title, body, tags, "部门", **kw)


# -- segmentation ----------------------------------------------------------------------------
def test_chinese_words_and_their_shorter_words_for_search() -> None:
    words = tokenize("住房公积金提取需要哪些材料")
    assert {"公积金", "提取", "材料"} <= set(words)
    assert "住房" in words
    assert not STOP_WORDS & set(words)


def test_mixed_ascii_is_folded_to_half_width_lower_case() -> None:
    assert tokenize("ＥＴＣ办理，PM2.5超标！拨打１２３４５") == [
        "etc",
        "办理",
        "pm2.5",
        "超标",
        "拨打",
        "12345",
    ]


def test_punctuation_spaces_and_stop_words_only_give_nothing() -> None:
    assert tokenize("  ，。？！的了吗  怎么办 ") == []
    assert tokenize("") == []


# -- ranking on the starter set -------------------------------------------------------------
@pytest.fixture(scope="module")
def starter() -> tuple[ArticleIndex, dict[int, str]]:
    articles = load_starter(CONFIG_DIR)
    index = ArticleIndex()
    index.put_many(
        IndexedArticle(i, a.title, a.body, tuple(a.tags), a.department, a.valid_from, a.valid_to)
        for i, a in enumerate(articles, 1)
    )
    return index, {i: a.key for i, a in enumerate(articles, 1)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("公积金怎么提取", {"hpf-withdraw"}),
        ("噪音扰民投诉", {"noise-construction", "noise-social-life"}),
        ("社保卡丢了补办", {"sscard-replace"}),
        ("身份证丢了", {"id-card"}),
        ("半夜工地施工太吵", {"noise-construction"}),
        ("闻到煤气味", {"gas-leak"}),
        ("医保报销比例", {"medical-reimbursement"}),
        ("户口迁移", {"hukou-transfer"}),
        ("港澳通行证签注", {"hk-macao-permit"}),
        ("12345能管什么", {"hotline-scope"}),
        ("房产证丢了", {"property-certificate-lost"}),
        ("二手房过户", {"property-registration-transfer"}),
        ("单位拖欠工资", {"wage-arrears"}),
        ("失业金怎么领", {"unemployment-benefit"}),
    ],
)
def test_the_right_article_comes_first(starter, query: str, expected: set[str]) -> None:
    index, keys = starter
    hits = index.search(query, AT)
    assert hits, query
    assert keys[hits[0].article.id] in expected, [keys[h.article.id] for h in hits[:3]]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_seasonal_article_is_found_only_in_its_season(starter) -> None:
    index, keys = starter
    summer = datetime(2026, 7, 1, tzinfo=UTC)
    assert [keys[h.article.id] for h in index.search("路上积水", summer)][:1] == ["flood-season"]
    assert "flood-season" not in {keys[h.article.id] for h in index.search("路上积水", AT)}


# -- the index's own rules ------------------------------------------------------------------
def test_the_title_counts_more_than_the_tags_and_the_tags_more_than_the_body() -> None:
    index = ArticleIndex()
    index.put_many(
        [
            art(1, "其他事项", body="居住证相关说明"),
            art(2, "其他事项", tags=("居住证",)),
            art(3, "居住证办理"),
        ]
    )
    assert [h.article.id for h in index.search("居住证", AT)] == [3, 2, 1]


def test_validity_window_is_from_inclusive_to_exclusive() -> None:
    start, end = AT, AT + timedelta(days=1)
    index = ArticleIndex()
    index.put(art(1, "停水通知", valid_from=start, valid_to=end))
    index.put(art(2, "停水报修"))
    ids = lambda at: {h.article.id for h in index.search("停水", at)}  # noqa: E731
    assert ids(start - timedelta(seconds=1)) == {2}
    assert ids(start) == {1, 2}
    assert ids(end - timedelta(seconds=1)) == {1, 2}
    assert ids(end) == {2}


def test_update_replaces_the_words_and_remove_takes_the_article_out() -> None:
    index = ArticleIndex()
    index.put(art(1, "燃气停供"))
    index.put(art(2, "停电报修"))
    assert [h.article.id for h in index.search("燃气", AT)] == [1]
    index.put(art(1, "自来水停供"))
    assert index.search("燃气", AT) == []
    assert [h.article.id for h in index.search("自来水", AT)] == [1]
    assert len(index) == 2
    assert index.remove(1) is True
    assert index.remove(1) is False
    assert index.search("自来水", AT) == [] and len(index) == 1
    assert index.get(2) is not None and index.get(1) is None


def test_limit_and_many_invalid_candidates() -> None:
    # More expired articles than the first look at the candidates: the valid ones still come.
    index = ArticleIndex()
    index.put_many(
        [art(i, "公积金提取公积金", valid_to=AT - timedelta(days=1)) for i in range(1, 200)]
        + [art(500, "公积金"), art(501, "公积金贷款")]
    )
    assert {h.article.id for h in index.search("公积金", AT, limit=5)} == {500, 501}
    assert len(index.search("公积金", AT - timedelta(days=2), limit=5)) == 5
    assert index.search("公积金", AT, limit=0) == []


def test_scores_do_not_depend_on_the_order_of_incremental_changes() -> None:
    docs = [art(i, f"标题{i}", body="公积金 " * (i % 7 + 1)) for i in range(1, 40)]
    bulk = ArticleIndex()
    bulk.put_many(docs)
    one_by_one = ArticleIndex()
    for d in reversed(docs):
        one_by_one.put(d)
    one_by_one.put_many([])  # re-weighs with the final averages, as put_many does
    a = [(h.article.id, round(h.score, 9)) for h in bulk.search("公积金", AT, limit=50)]
    b = [(h.article.id, round(h.score, 9)) for h in one_by_one.search("公积金", AT, limit=50)]
    assert a == b


def test_the_max_score_shortcut_gives_the_exhaustive_ranking() -> None:
    import random

    from bench.knowledge import QUERIES, generate

    docs = generate(1500, seed=7)
    index = ArticleIndex()
    index.put_many(docs)
    rng = random.Random(3)
    for q in QUERIES:
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 700))
        limit = rng.choice([1, 3, 10, 30])
        fast = [(h.article.id, round(h.score, 9)) for h in index.search(q, at, limit)]
        slow = exhaustive(index, q, at, limit)
        assert fast == slow, q


def exhaustive(index: ArticleIndex, query: str, at: datetime, limit: int) -> list:
    import math

    n = len(index)
    scores: dict[int, float] = {}
    for word in dict.fromkeys(tokenize(query)):
        posting = index._postings.get(word, {})
        idf = math.log(1.0 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
        for doc_id, weight in posting.items():
            scores[doc_id] = scores.get(doc_id, 0.0) + idf * weight
    valid = [(i, s) for i, s in scores.items() if index.get(i).valid_at(at)]
    valid.sort(key=lambda kv: (-kv[1], kv[0]))
    return [(i, round(s, 9)) for i, s in valid[:limit]]
