"""Search over the published articles: an in-memory inverted index, BM25F plus fuzzy matching.

The index is built from the database (see KnowledgeBase.index()) and shared by every request
of a process; it is pure Python and the same on SQLite and PostgreSQL. Finding the right
article for how citizens actually write takes three steps:

1. Terms: English words stemmed, Chinese as character bigrams (knowledge_base.text).
2. Repair: a word the index has never seen is matched with rapidfuzz against the index's
   words ("colection" → collection). Adjacent words are also tried joined ("so far" → sofa,
   the way speech recognition splits words; "pot hole" → pothole) and long unknown words split.
3. Ranking: BM25 over weighted fields (title and example questions count most) picks
   candidates; each candidate is then scored by how much of the question it covers (IDF
   weighted) and by rapidfuzz's token-set similarity to its title, questions and keywords.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from knowledge_base.text import STOP_WORDS, english_words, has_han, normalise, stem, terms

FIELD_WEIGHTS = {"title": 3.0, "questions": 2.0, "keywords": 2.5, "short_answer": 1.0,
                 "key_facts": 0.6, "body": 0.8}
K1, B = 2.0, 0.75
CANDIDATES = 40
# The final score blends these three parts; each is between 0 and 1.
W_RELATIVE, W_COVERAGE, W_FUZZY, W_PHRASE = 0.3, 0.25, 0.1, 0.35
MIN_SCORE = 0.45  # below this the best answer is not good enough: a knowledge gap
TYPO_CUTOFF = 80.0
# Letters scanners confuse ("darnp and rnould"); tried before fuzzy matching.
OCR_CONFUSIONS = (("rn", "m"), ("cl", "d"), ("vv", "w"), ("0", "o"), ("1", "l"), ("5", "s"),
                  ("ii", "u"), ("li", "h"))
UNIGRAM_WEIGHT = 0.5  # a single Chinese character says less than a pair
JOIN_CUTOFF = 85.0
COMMON_MIN_DOCUMENTS, COMMON_SHARE = 2000, 0.05
_NO_POSTINGS: tuple[array[int], array[float]] = (array("i"), array("f"))


@dataclass(frozen=True)
class Document:
    """One published article version, as the index sees it."""

    article_id: int
    slug: str
    language: str
    department: str
    services: tuple[str, ...]
    version: int
    title: str
    short_answer: str
    fields: dict[str, str] = field(hash=False, compare=False)
    phrases: tuple[str, ...] = ()  # title and example questions, for fuzzy matching


@dataclass(frozen=True)
class SearchResult:
    slug: str
    language: str
    title: str
    department: str
    version: int
    article_id: int
    short_answer: str
    score: float

    def as_dict(self) -> dict[str, object]:
        return {"slug": self.slug, "title": self.title, "language": self.language,
                "score": self.score}


@dataclass(frozen=True)
class _Query:
    weights: dict[str, float]  # term → weight (1 for a word as typed, less for a repair)
    text: str  # the terms joined, for fuzzy comparison with phrases


class SearchIndex:
    def __init__(self, documents: Iterable[Document]) -> None:
        self.documents: list[Document] = list(documents)
        self._postings: dict[str, tuple[array[int], array[float]]] = {}
        self._idf: dict[str, float] = {}
        self._surface: dict[str, str] = {}  # English word as written → its stem
        self._phrase_terms: list[tuple[str, ...]] = []
        self._phrase_sets: list[tuple[frozenset[str], ...]] = []
        self._build()
        # Typos rarely change a word's first letter or its length by more than two: looking
        # only there keeps a repair to a few hundred comparisons on any size of index.
        self._buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
        for word in self._surface:
            self._buckets[(word[0], len(word))].append(word)
        self._repair = lru_cache(maxsize=8192)(self._repair_uncached)
        self._joined = lru_cache(maxsize=8192)(self._joined_uncached)

    def __len__(self) -> int:
        return len(self.documents)

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        # Postings are two flat arrays per term (document numbers, then BM25 weights): an
        # index of 100,000 articles fits in a few hundred megabytes instead of gigabytes.
        ids: dict[str, array[int]] = defaultdict(lambda: array("i"))
        freqs: dict[str, array[float]] = defaultdict(lambda: array("f"))
        lengths = array("f")
        for number, doc in enumerate(self.documents):
            tf: dict[str, float] = defaultdict(float)
            for name, weight in FIELD_WEIGHTS.items():
                text = doc.fields.get(name, "")
                for term in terms(text):
                    tf[term] += weight
                for word in english_words(normalise(text)):
                    if word not in self._surface:
                        self._surface[word] = stem(word)
            for term, freq in tf.items():
                ids[term].append(number)
                freqs[term].append(freq)
            lengths.append(sum(tf.values()))
            self._phrase_terms.append(tuple(" ".join(terms(p)) for p in doc.phrases))
            self._phrase_sets.append(tuple(frozenset(terms(p)) for p in doc.phrases))
        average = (sum(lengths) / len(lengths)) if lengths else 1.0
        norms = [K1 * (1 - B + B * length / average) for length in lengths]
        total = len(self.documents)
        for term, numbers in ids.items():
            parts = array("f", (f * (K1 + 1) / (f + norms[n])
                                for n, f in zip(numbers, freqs[term], strict=True)))
            self._postings[term] = (numbers, parts)
            self._idf[term] = math.log(1 + (total - len(numbers) + 0.5) / (len(numbers) + 0.5))
        self._max_idf = math.log(1 + (total + 0.5) / 0.5) if total else 1.0

    # ------------------------------------------------------------------ the query

    def _repair_uncached(self, word: str) -> tuple[tuple[str, float], ...]:
        """Index terms for a word the index does not know: an OCR or typing slip, a split."""
        for wrong, right in OCR_CONFUSIONS:
            if wrong in word and stem(word.replace(wrong, right)) in self._postings:
                return ((stem(word.replace(wrong, right)), 0.9),)
        if len(word) >= 4 and not word.isdigit():
            best = process.extractOne(word, self._near(word), scorer=fuzz.ratio,
                                      score_cutoff=TYPO_CUTOFF + (5 if len(word) < 5 else 0))
            if best is not None:
                return ((self._surface[best[0]], _confidence(best[1])),)
        for cut in range(3, len(word) - 2):
            left, right = stem(word[:cut]), stem(word[cut:])
            if left in self._postings and right in self._postings:
                return ((left, 0.8), (right, 0.8))
        return ()

    def _near(self, word: str) -> list[str]:
        return [w for size in range(len(word) - 2, len(word) + 3)
                for w in self._buckets.get((word[0], size), ())]

    def _joined_uncached(self, first: str, second: str) -> tuple[str, float] | None:
        joined = first + second
        if stem(joined) in self._postings:
            return stem(joined), 1.0
        if len(joined) < 5 or not (first in STOP_WORDS or second in STOP_WORDS
                                   or min(len(first), len(second)) <= 3
                                   or stem(first) not in self._postings
                                   or stem(second) not in self._postings):
            return None
        best = process.extractOne(joined, self._near(joined), scorer=fuzz.ratio,
                                  score_cutoff=JOIN_CUTOFF)
        return (self._surface[best[0]], _confidence(best[1])) if best else None

    def parse(self, question: str) -> _Query:
        text = normalise(question)
        weights: dict[str, float] = defaultdict(float)
        for term in terms(text):
            if len(term) == 1 and has_han(term):
                weights[term] += UNIGRAM_WEIGHT
                continue
            fixes = () if term in self._postings or has_han(term) else self._repair(term)
            for fixed, similarity in fixes:
                weights[fixed] += similarity
            if not fixes:
                weights[term] += 1.0  # known, or unknown: then it counts against coverage
        raw = [w for w in text.replace("'", " ").split() if w.isascii() and w.isalnum()]
        for first, second in zip(raw, raw[1:], strict=False):
            joined = self._joined(first, second)
            if joined and joined[0] not in weights:
                weights[joined[0]] += joined[1]
        # Saying a word twice should not count twice as much.
        damped = {t: min(w, 1.0) + 0.3 * math.log1p(max(0.0, w - 1.0))
                  for t, w in weights.items()}
        return _Query(damped, " ".join(weights))

    # ------------------------------------------------------------------ searching

    def search(self, question: str, language: str | None = None,
               department: str | None = None, limit: int = 5) -> list[SearchResult]:
        """The best `limit` documents with scores between 0 and 1, best first."""
        query = self.parse(question)
        if not query.weights:
            return []
        bm25: dict[int, float] = defaultdict(float)
        covered: dict[int, float] = defaultdict(float)
        total_idf = 0.0
        for term, weight in self._informative(query.weights).items():
            idf = self._idf.get(term, self._max_idf)
            total_idf += idf * min(weight, 1.0)
            numbers, parts = self._postings.get(term, _NO_POSTINGS)
            for number, part in zip(numbers, parts, strict=True):
                bm25[number] += idf * weight * part
                covered[number] += idf * min(weight, 1.0)
        allowed = self._allowed(language, department)
        candidates = heapq.nlargest(CANDIDATES, (n for n in bm25 if allowed(n)),
                                    key=bm25.__getitem__)
        if not candidates:
            return []
        top = bm25[candidates[0]]
        scored = []
        for number in candidates:
            fuzzy = self._fuzzy(query.text, number)
            score = (W_RELATIVE * bm25[number] / top
                     + W_COVERAGE * min(1.0, covered[number] / total_idf)
                     + W_FUZZY * fuzzy + W_PHRASE * self._phrase(query, number, total_idf))
            scored.append((score, bm25[number], number))
        scored.sort(reverse=True)
        return [self._result(number, score) for score, _, number in scored[:limit]]

    def _informative(self, weights: dict[str, float]) -> dict[str, float]:
        """The query's terms without those in a large share of a large index.

        Such terms (a common Chinese character among 100,000 articles) weigh almost nothing
        in BM25 but would cost a walk over most of the index; they are left out when the
        question has rarer terms. Below COMMON_MIN_DOCUMENTS articles nothing is left out.
        """
        cap = max(COMMON_MIN_DOCUMENTS, int(COMMON_SHARE * len(self.documents)))
        rare = {t: w for t, w in weights.items()
                if len(self._postings.get(t, _NO_POSTINGS)[0]) <= cap}
        return rare or weights

    def _allowed(self, language: str | None, department: str | None
                 ) -> Callable[[int], bool]:
        docs = self.documents
        if language and department:
            return lambda n: docs[n].language == language and docs[n].department == department
        if language:
            return lambda n: docs[n].language == language
        if department:
            return lambda n: docs[n].department == department
        return lambda n: True

    def _phrase(self, query: _Query, number: int, total_idf: float) -> float:
        """How closely one example question says what the question says (IDF-weighted Dice)."""
        best = 0.0
        idf = self._idf
        for phrase in self._phrase_sets[number]:
            shared = sum(idf.get(t, 0.0) * min(w, 1.0) for t, w in query.weights.items()
                         if t in phrase)
            if shared:
                size = sum(idf.get(t, self._max_idf) * (UNIGRAM_WEIGHT if len(t) == 1 else 1)
                           for t in phrase)
                best = max(best, 2 * shared / (total_idf + size))
        return best

    def _fuzzy(self, query_text: str, number: int) -> float:
        phrases = self._phrase_terms[number]
        if not phrases or not query_text:
            return 0.0
        # token_set_ratio alone calls any phrase contained in the question a perfect match;
        # token_sort_ratio also asks that the question says little else.
        best = max(fuzz.token_set_ratio(query_text, p) + fuzz.token_sort_ratio(query_text, p)
                   for p in phrases)
        return best / 200.0

    def _result(self, number: int, score: float) -> SearchResult:
        doc = self.documents[number]
        return SearchResult(doc.slug, doc.language, doc.title, doc.department, doc.version,
                            doc.article_id, doc.short_answer, round(score, 4))


def _confidence(similarity: float) -> float:
    """How much a repaired word counts: a near miss almost fully, a loose match half."""
    return max(0.0, (similarity - 60.0) / 40.0)


def document_fields(title: str, questions: Sequence[str], keywords: Sequence[str],
                    short_answer: str, key_facts: Sequence[str], body: str) -> dict[str, str]:
    return {"title": title, "questions": "\n".join(questions), "keywords": "\n".join(keywords),
            "short_answer": short_answer, "key_facts": "\n".join(key_facts), "body": body}
