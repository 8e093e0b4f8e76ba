"""Routing help: from an operator's description of a call, the three matters of the catalogue
it most likely is, with their departments.

Why hand-written: the catalogue is a few hundred to 7,000 short records (a name, a dozen
keywords, a department) read on every call; an inverted index in a dict ranks them in well
under a millisecond with no service to run, the same way :mod:`knowledge.index` ranks articles.
The ranking is BM25F over four fields of a matter: its name, its keywords, its department's
names (the full name and what people call it: 城管, 交警) and the words of the descriptions
dispatchers chose it for (:mod:`routing.learned_choices`), each weighted, length-normalised
and saturated. Words come from jieba (:mod:`words.tokens`). Citizens do not speak in the
catalogue's words, and jieba cuts a phrase differently from the keyword inside it (做刷单 is
not 刷单), so the Chinese characters' bigrams of the name and keywords are matched too, with
a lower weight: they catch the keyword inside a longer word.

A matter whose legal route is litigation or arbitration is flagged: the operator tells the
citizen that route (a court or an arbitration body decides, not a department's ticket).
"""

from __future__ import annotations

import heapq
import itertools
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from config.catalogue import Catalogue, Matter
from routing.learned_choices import Choice, LearnedWords, learn
from words.bm25 import add_posting, idf, saturate
from words.tokens import tokenize as jieba_words

__all__ = ["MAX_TEXT", "Suggester", "Suggestion", "bigrams"]

#: The longest description the suggester takes (characters).
MAX_TEXT = 2000
#: Fields of a matter, and how much a word in each counts.
FIELDS = ("name", "keywords", "department", "learned", "bigrams")
WEIGHTS = (3.0, 2.5, 1.0, 2.0, 0.6)
#: Length normalisation per field (BM25's b): a matter with forty keywords is not forty
#: times more likely than one with four.
B = (0.3, 0.5, 0.2, 0.3, 0.5)
#: Bigrams live in the same postings as words, under this prefix (no word starts with it).
_GRAM = "\x00"
#: A word in more than this share of the matters (杭州, 管理) only adds to the scores of the
#: matters rarer words found: walking its postings (thousands of matters in a 7,000-row
#: catalogue) would cost milliseconds for a weight its idf makes near zero.
#: A word learned from fewer of one matter's choices is left out: one dispatcher's choice of
#: a matter for "我们小区门口..." says nothing of 小区 or 门口 (measured on the sample: learning
#: every word once made top-1 worse by 3 to 5 points; from twice on, no worse).
MIN_LEARNED = 2
#: Short postings are walked whatever their share (a small catalogue loses no match).
COMMON_SHARE = 0.5
COMMON_MIN = 200


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def bigrams(text: str) -> list[str]:
    """The pairs of adjacent Chinese characters of ``text``, in order.

    >>> bigrams("拖欠工资了")
    ['拖欠', '欠工', '工资', '资了']
    """
    folded = unicodedata.normalize("NFKC", text)
    return [a + b for a, b in itertools.pairwise(folded) if _is_cjk(a) and _is_cjk(b)]


def _confirmed(words: Counter[str]) -> Counter[str]:
    return Counter({w: n for w, n in words.items() if n >= MIN_LEARNED})


@dataclass(frozen=True, slots=True)
class Suggestion:
    matter: Matter
    #: The responsible department's Chinese name.
    department: str
    score: float

    @property
    def flagged(self) -> bool:
        return self.matter.flagged

    def advice(self) -> str | None:
        """What the operator tells the citizen when the matter has a flagged legal route."""
        route = self.matter.legal_route
        if route is None or not self.matter.flagged:
            return None
        return f"请告知市民：此类事项依法可通过{route.chinese}途径解决（{self.department}）"


@dataclass(frozen=True, slots=True)
class _Prepared:
    matter: Matter
    counts: tuple[Counter[str], ...]  # one per field, learned empty until taught


class Suggester:
    """Ranks a catalogue's matters for a description; :meth:`taught` adds what dispatchers'
    choices say."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        tokenize: Callable[[str], list[str]] = jieba_words,
        learned: LearnedWords | None = None,
        _prepared: list[_Prepared] | None = None,
    ) -> None:
        self.catalogue = catalogue
        self._tokenize = tokenize
        prepared = (
            _prepared
            if _prepared is not None
            else [self._prepare(m) for m in catalogue.matters.values()]
        )
        if learned is not None:
            prepared = [
                replace(
                    p,
                    counts=(
                        *p.counts[:3],
                        _confirmed(learned.words.get(p.matter.code, Counter())),
                        p.counts[4],
                    ),
                )
                for p in prepared
            ]
        self._prepared = prepared
        self._postings: dict[str, dict[int, float]] = {}
        self._idf: dict[str, float] = {}
        self._file()

    def __len__(self) -> int:
        return len(self._prepared)

    def _prepare(self, m: Matter) -> _Prepared:
        t = self._tokenize
        d = self.catalogue.departments[m.department]
        keywords: Counter[str] = Counter()
        grams: Counter[str] = Counter()
        for k in m.keywords:
            keywords.update(t(k))
            grams.update(_GRAM + g for g in bigrams(k))
        grams.update(_GRAM + g for g in bigrams(m.name))
        department: Counter[str] = Counter(t(d.name))
        for alias in d.aliases:
            department.update(t(alias))
        return _Prepared(m, (Counter(t(m.name)), keywords, department, Counter(), grams))

    def _file(self) -> None:
        n = len(self._prepared) or 1
        totals = [0.0] * len(FIELDS)
        for p in self._prepared:
            for i, c in enumerate(p.counts):
                totals[i] += sum(c.values())
        averages = [max(t / n, 1.0) for t in totals]
        postings: dict[str, dict[int, float]] = {}
        for index, p in enumerate(self._prepared):
            tf: dict[str, float] = {}
            for weight, b, avg, counts in zip(WEIGHTS, B, averages, p.counts, strict=True):
                norm = (1.0 - b) + b * sum(counts.values()) / avg
                for word, k in counts.items():
                    tf[word] = tf.get(word, 0.0) + weight * k / norm
            for word, f in tf.items():
                postings.setdefault(word, {})[index] = saturate(f)
        self._postings = postings
        self._idf = {w: idf(n, len(ps)) for w, ps in postings.items()}

    def taught(self, choices: Iterable[Choice | tuple[str, str]]) -> Suggester:
        """A suggester over the same catalogue that also knows the words of these
        dispatchers' choices (replacing what it was taught before)."""
        learned = learn(choices, self._tokenize, known=self.catalogue.matters.__contains__)
        return Suggester(
            self.catalogue, tokenize=self._tokenize, learned=learned, _prepared=self._prepared
        )

    def suggest(self, text: str, limit: int = 3) -> list[Suggestion]:
        """The ``limit`` matters that best fit ``text``, best first (equal scores: the one
        listed first in the catalogue); none for a description with no word of any."""
        query = dict.fromkeys([*self._tokenize(text), *(_GRAM + g for g in bigrams(text))])
        found = [(w, p) for w, p in ((w, self._postings.get(w)) for w in query) if p]
        found.sort(key=lambda wp: len(wp[1]))  # rarest first
        common = max(COMMON_SHARE * len(self._prepared), COMMON_MIN)
        scores: dict[int, float] = {}
        for word, posting in found:
            add_posting(scores, posting, self._idf[word], candidates_only=len(posting) > common)
        best = heapq.nlargest(limit, scores.items(), key=lambda kv: (kv[1], -kv[0]))
        out = []
        for index, score in best:
            matter = self._prepared[index].matter
            department = self.catalogue.departments[matter.department].name
            out.append(Suggestion(matter, department, round(score, 3)))
        return out
