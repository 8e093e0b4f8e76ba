"""Knowledge base benchmark: search latency over 10,000 articles, the index's build, jieba's load.

``run(results)`` adds ``results["knowledge"]``; ``python -m bench.knowledge`` runs it alone and
prints JSON (options: ``--articles N``, ``--queries N``, ``--seed S``).

The articles are generated from the shipped starter set (``config/knowledge.yaml``), so their
words are the real ones, with the overlap of a real base: each is a starter article's title
with a district and a variant, its sentences shuffled with sentences of other articles, some
of its tags, and 20 to 80 words drawn from jieba's own dictionary as noise (a vocabulary of
tens of thousands of words, as thousands of departments' texts would have). With 70 topics
over 10,000 articles a common query word is in thousands of articles: a harder case than a
real base, where topics do not repeat so often. One article in ten has a validity window.

Queries are what callers ask (the ranking test's and more), each timed alone from the query
text to the ranked hits (segmentation included) with ``perf_counter_ns``: p50, p99, max.
jieba's dictionary load is timed in fresh interpreters: without its cache file (the first
start on a machine) and with it (every later start).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["QUERIES", "generate", "run"]

QUERIES = [
    "公积金怎么提取",
    "噪音扰民投诉",
    "社保卡丢了补办",
    "身份证丢了怎么办",
    "半夜工地施工太吵",
    "闻到煤气味",
    "医保报销比例是多少",
    "户口迁移需要什么材料",
    "港澳通行证签注",
    "12345能管什么",
    "房产证丢了",
    "二手房过户流程",
    "单位拖欠工资",
    "失业金怎么领",
    "停水了什么时候来水",
    "小区停电",
    "交通违章怎么处理",
    "驾照到期换证",
    "新生儿怎么上户口",
    "居住证办理条件",
    "异地就医备案",
    "公租房申请条件",
    "路灯不亮",
    "井盖丢了",
    "楼上装修太吵",
    "出租车绕路投诉",
    "健身房跑路退卡",
    "外卖吃坏肚子",
    "工厂偷排污水",
    "狗咬人了怎么办",
    "低保怎么申请",
    "结婚登记要带什么",
    "个税退税",
    "营业执照怎么办",
    "孩子上小学报名",
    "养老金资格认证",
    "公积金贷款额度",
    "物业不管电梯坏了",
    "违章停车堵门口",
    "ETC办理",
]
DISTRICTS = [
    "上城区",
    "拱墅区",
    "西湖区",
    "滨江区",
    "萧山区",
    "余杭区",
    "临平区",
    "钱塘区",
    "富阳区",
    "临安区",
    "桐庐县",
    "淳安县",
    "建德市",
]
VARIANTS = ["", "（个人）", "（单位）", "常见问题", "办理指南", "政策解读", "注意事项", "材料清单"]


def _sentences(body: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。；！？])", body.replace("\n", "")) if s.strip()]


def _dictionary_words(rng: random.Random, n: int) -> list[str]:
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    words = [line.split(" ", 1)[0] for line in path.read_text("utf-8").splitlines()]
    return rng.sample([w for w in words if 2 <= len(w) <= 4], n)


def generate(n: int, seed: int = 1) -> list[Any]:
    """``n`` articles (:class:`knowledge.index.IndexedArticle`) made from the starter set."""
    from config.knowledge import load_starter
    from config.settings import CONFIG_DIR
    from knowledge.index import IndexedArticle

    rng = random.Random(seed)
    starter = load_starter(CONFIG_DIR)
    pool = [s for a in starter for s in _sentences(a.body)]
    noise = _dictionary_words(rng, 40_000)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(1, n + 1):
        a = rng.choice(starter)
        own = _sentences(a.body)
        body = own + rng.sample(pool, rng.randint(1, 4))
        rng.shuffle(body)
        body.append("".join(rng.choices(noise, k=rng.randint(20, 80))) + "。")
        window = rng.random() < 0.1
        start = base + timedelta(days=rng.randint(0, 600)) if window else None
        out.append(
            IndexedArticle(
                id=i,
                title=f"{rng.choice(DISTRICTS)}{a.title}{rng.choice(VARIANTS)}",
                body="".join(body),
                tags=tuple(rng.sample(a.tags, rng.randint(0, len(a.tags)))),
                department=a.department,
                valid_from=start,
                valid_to=start + timedelta(days=rng.randint(10, 200)) if start else None,
            )
        )
    return out


def _jieba_load_seconds(tmp: str) -> float:
    code = "from words import tokens; tokens.load(); print(tokens.load_seconds)"
    env = {**os.environ, "TMPDIR": tmp}  # jieba keeps its cache file in the temporary folder
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _rss_mb() -> float:
    """The resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


def _bench(articles: int, queries: int, seed: int) -> dict[str, Any]:
    from knowledge.index import ArticleIndex, prepare
    from knowledge.stored_words import prepared, to_stored
    from words import tokens

    with tempfile.TemporaryDirectory() as tmp:
        cold = _jieba_load_seconds(tmp)
        warm = _jieba_load_seconds(tmp)
    tokens.load()
    docs = generate(articles, seed)
    before = _rss_mb()
    t0 = time.perf_counter()
    prepared_docs = [prepare(d) for d in docs]
    t1 = time.perf_counter()
    index = ArticleIndex()
    index.put_many(prepared_docs)
    t2 = time.perf_counter()
    index_mb = _rss_mb() - before  # the index with each article's word counts
    # At start the words stored with each article (JSON) are filed, not segmented again.
    stored = [json.dumps(to_stored(p), ensure_ascii=False) for p in prepared_docs]
    t3 = time.perf_counter()
    ArticleIndex().put_many(prepared(d, json.loads(w)) for d, w in zip(docs, stored, strict=True))
    t4 = time.perf_counter()
    rng = random.Random(seed)
    at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    for q in QUERIES:  # warm-up: the first search of each word
        index.search(q, at)
    times_ms: list[float] = []
    hits = 0
    for _ in range(queries):
        q = rng.choice(QUERIES)
        started = time.perf_counter_ns()
        found = index.search(q, at, 10)
        times_ms.append((time.perf_counter_ns() - started) / 1e6)
        hits += len(found)
    times_ms.sort()
    return {
        "articles": articles,
        "queries": queries,
        "search_p50_ms": round(_percentile(times_ms, 0.50), 3),
        "search_p99_ms": round(_percentile(times_ms, 0.99), 3),
        "search_max_ms": round(times_ms[-1], 3),
        "search_mean_ms": round(statistics.fmean(times_ms), 3),
        "mean_hits": round(hits / queries, 2),
        "tokenise_articles_s": round(t1 - t0, 2),
        "index_build_s": round(t2 - t1, 2),
        "index_build_from_stored_words_s": round(t4 - t3, 2),
        "stored_words_mb": round(sum(len(w.encode()) for w in stored) / 2**20, 1),
        "distinct_words": len(index._postings),
        "index_rss_mb": round(index_mb, 1),
        "jieba_load_cold_s": round(cold, 2),
        "jieba_load_cached_s": round(warm, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }


def run(
    results: dict[str, Any], *, articles: int = 10_000, queries: int = 2_000, seed: int = 1
) -> None:
    """Add the knowledge base's figures to ``results["knowledge"]`` (synchronous, CPU only)."""
    r = results["knowledge"] = _bench(articles, queries, seed)
    print(
        f"knowledge search over {r['articles']:,} articles: p50 {r['search_p50_ms']} ms, "
        f"p99 {r['search_p99_ms']} ms, max {r['search_max_ms']} ms ({r['queries']:,} queries); "
        f"index {r['tokenise_articles_s']} s to tokenise + {r['index_build_s']} s to build "
        f"({r['index_build_from_stored_words_s']} s from stored words); "
        f"jieba's dictionary {r['jieba_load_cached_s']} s ({r['jieba_load_cold_s']} s without "
        "its cache)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out: dict[str, Any] = {}
    run(out, articles=args.articles, queries=args.queries, seed=args.seed)
    print(json.dumps(out, indent=2, ensure_ascii=False))
