"""Words of Chinese (and mixed ASCII) text for the knowledge base's search and the routing
help's ranking of the catalogue: jieba's segmentation, normalised, without stop words.

Chinese has no spaces between words, so "社保卡丢了补办" must be cut into 社保 / 社保卡 / 丢 /
补办 before anything can be counted. jieba does that (its dictionary plus an HMM for words it
does not know). Its search mode (``cut_for_search``) also gives the shorter words inside a long
one (公积金 -> 公积, 积金, 公积金), so an article about 住房公积金 is found by 公积金.

Text is first folded with NFKC (full-width ＡＢＣ１２３ -> ABC123) and lower-cased, so ASCII
words (ETC, PM2.5, 12345, App) match whatever width and case they were typed in. Punctuation,
spaces and a short list of stop words (function words and question words such as 的, 了, 怎么,
如何, 请问, which every question contains) are dropped.

jieba's dictionary takes about half a second of CPU to load (its cache included): :func:`load`
does it once, on whatever thread calls it first; the runtime calls it in a worker thread at
start so that the event loop never waits for it (:mod:`knowledge.live`).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import unicodedata
from typing import Any

import jieba

__all__ = ["STOP_WORDS", "VERSION", "is_loaded", "load", "load_seconds", "tokenize"]

log = logging.getLogger(__name__)

#: Words that tell nothing about the subject: particles, pronouns, question words, politeness.
STOP_WORDS = frozenset(
    """
    的 地 得 了 着 过 吗 呢 吧 啊 呀 嘛 哦 么 之 而 与 及 和 或 跟 同 并 且 也 又 都 就 才 还 再
    是 在 有 没 没有 不 被 把 让 给 从 向 到 于 对 为 以 将 这 那 这个 那个 这些 那些 这样 那样
    我 你 您 他 她 它 我们 你们 他们 咱 咱们 自己 人家
    怎么 怎么办 怎么样 怎样 如何 什么 啥 哪 哪里 哪儿 哪些 哪个 多少 几 吗 为什么 为何 是否
    能 能否 能不能 可以 可不可以 可否 会 要 想 应该 需不需要 请问 请 问 一下 一个 个 些 下 上
    谢谢 你好 您好 麻烦 那么 这么 就是 还是 然后 因为 所以 但是 如果 已经 现在
    """.split()
)

#: What :func:`tokenize` gives depends on jieba's dictionary and on the rules here: word counts
#: stored with another version are computed again (:mod:`knowledge.stored_words`). Change the
#: rules' number whenever :func:`tokenize` or :data:`STOP_WORDS` changes.
VERSION = f"jieba {jieba.__version__}; rules 1"

_TOKENIZER: Any = jieba.Tokenizer()
_LOCK = threading.Lock()
_loaded = False
#: Seconds the dictionary took to load (None until loaded).
load_seconds: float | None = None

jieba.setLogLevel(logging.WARNING)  # jieba prints its loading to stderr at DEBUG otherwise


def load() -> float:
    """Load jieba's dictionary if not yet done (blocking: call it off the event loop);
    the seconds it took, 0.0 when it was already loaded."""
    global _loaded, load_seconds
    with _LOCK:
        if _loaded:
            return 0.0
        started = time.perf_counter()
        _TOKENIZER.initialize()
        load_seconds = time.perf_counter() - started
        _loaded = True
    log.info("jieba dictionary loaded in %.2f s", load_seconds)
    return load_seconds


def is_loaded() -> bool:
    return _loaded


def _is_word(token: str) -> bool:
    """Has a letter, a digit or a CJK character (not punctuation or space alone)."""
    return any(ch.isalnum() for ch in token)


def tokenize(text: str) -> list[str]:
    """The words of ``text`` in order, repeated as often as they occur (for term counts).

    >>> tokenize("社保卡丢了，怎么补办？")
    ['社保', '社保卡', '丢', '补办']
    >>> tokenize("ＥＴＣ办理 PM2.5")
    ['etc', '办理', 'pm2.5']
    """
    if not _loaded:
        load()
    folded = unicodedata.normalize("NFKC", text).lower()
    # Interned: the index holds each word once, not once per article (40% of its memory).
    return [
        sys.intern(t)
        for t in (w.strip() for w in _TOKENIZER.cut_for_search(folded, HMM=True))
        if t and t not in STOP_WORDS and _is_word(t)
    ]
