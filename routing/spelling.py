"""Typo, speech and OCR tolerance: map an unknown word to a known keyword word.

Only words that are not themselves keyword words are looked up, and the look-up is confined
to keyword words with the same first letter, so a typical message costs a few dictionary hits
(results are memoised). The rules are deliberately conservative, because a real English word
corrected into a keyword ("marking" → "parking", "three" → "tree") misroutes a case:

- words shorter than 4 letters are never corrected;
- at most one edit (insertion, deletion, substitution, transposition) up to 7 letters, two
  from 8 letters on; the first letter must agree;
- a 4–5 letter word may only be *missing* a letter ("stret" → "street"): not carry an extra
  one ("three" ↛ "tree", "spark" ↛ "park") nor a different one ("file" ↛ "fire").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from routing.text import OCR_DIGITS, OCR_PAIRS, singular

# A fresh word list for every call would defeat the memo; a cap keeps memory bounded in a
# long-running server that sees unbounded vocabulary (names, addresses).
_CACHE_LIMIT = 100_000
SINGULAR_SCORE = 97
OCR_SCORE = 90
# Two edits turn many real words into keyword words ("constant" → "contact", "starting" →
# "sparking", "morning" → "moving"); a genuine typo of a long word keeps most letters.
MIN_TWO_EDIT_SCORE = 85
# Everyday English words one edit away from a keyword word: a citizen who writes them means
# them ("we want to" is not "we wasnt", "back garden" is not "black", "side" is not "slide").
_REAL_WORDS = """
    back backed backing bake bark barking bean bear beat bend bent bid bide bile bine bird
    bit bite blank bled blew blind bloke blow bone brick bridge bring broad brow brunt bun
    bung burying call calm camp cane cap car card care cared cart carter cast caste cat
    centre center chart chid chide chile chill chin city clod cloak clock close cod cold
    cone constant contract cot court cover crack crate crew damp dark dart date dead deal
    dear deed deep dine ditch does dole dome door dot drain dram drip drop dump dung dust
    fair fall fallow far farm fast fat fate feel feet fell felt fight file fill fine fire
    fit flat flaw flee float flog flow foam foot fork form fort found four fowl free fry
    gate gave gear glad glum goal goat gold golf gone good grate grave grim grip ground
    hall halt hand hard harm hate have head heal heap hear heat heel held hell help here
    hide high hill hint hire hive hold hole home hood hook hope horn hose host hour house
    howl hung hunt hurt lake lame lamp land lane late lead leaf leak lean leaning least leave
    led left lend lens less lest lick lid lift like lime line link lint list live load
    loan lock long look loom loop lose loss lost loud love lung main make male mall mark
    mart mass mast mate mean meat meet melt mess mild mile milk mill mind mine mint miss
    mist mode mole moon moor more morning most moth move much must nail name near neat need
    nest note pace pack page paid pain pair pale palm pane park part pass past path pave
    peak pear peat pile pine pink pint pipe plain plan plane planting plant plate play plot
    plug poke pole pond pool poor port pose post pour pray price pride print prize pump
    race rack rage raid rail rain rake ran rang rank rare rash rate rats read real rear
    reed rent rest rice ride ring rise road roam roar rob rock rod role roll roof room root
    rope rose rot round row rub rude ruin rule run rung rush sack safe said sail sake sale
    salt same sand sane sang save scar seat seed seek seem seen self sell send sent set
    shed shin ship shop shot show shut side sign sing sink sit site size skip slab slap
    sled slid slim slip slit slot slow smog snow soak sock soil sold sole some song soon
    sore sort soul soup sour span spar spark spat spin spit spot star stare starting state
    stay stem step stew stir stop storm strain struck stub stuck such suit sung sure swing
    take tale talk tall tame tank tape tart task team tear tell tend tent term test than
    that them then they thin three tide tile till time tine tire toll tone tool tore torn
    town trap tray tree trip true tube tune turn twin vale vane vast vent very vole wage
    wait wake walk wall want ward ware warm warn wart wash wave weak wear weed week well
    went were west what when whip wide wife wild will wind wine wing wire wise wish with
    wood word wore work worn yard year yell
"""
REAL_WORDS = frozenset(_REAL_WORDS.split())

Correction = tuple[str, int]  # (keyword word, similarity 0..100)


class Speller:
    """Corrects words against a fixed vocabulary; build once, call from any thread."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.vocabulary = frozenset(vocabulary)
        by_initial: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.vocabulary):
            by_initial[word[0]].append(word)
        self._by_initial = dict(by_initial)
        self._cache: dict[str, Correction | None] = {}

    def correct(self, word: str) -> Correction | None:
        """Another keyword word `word` probably stands for ("bins" → "bin", "stret" →
        "street"), or None."""
        if len(word) < 3:
            return None
        try:
            return self._cache[word]
        except KeyError:
            pass
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        result = self._lookup(word)
        self._cache[word] = result
        return result

    def _lookup(self, word: str) -> Correction | None:
        if word in self.vocabulary or word in REAL_WORDS:  # only its singular may be
            base = singular(word)  # worth trying
            return (base, SINGULAR_SCORE) if base in self.vocabulary else None
        variants = ocr_variants(word)
        for attempt in (self._known_form, self._fuzzy):
            found = attempt(word)
            if found is not None:
                return found
            for variant in variants:
                found = attempt(variant)
                if found is not None:
                    return found[0], min(found[1], OCR_SCORE)
        return None

    def _known_form(self, word: str) -> Correction | None:
        if word in self.vocabulary:
            return word, 100
        base = singular(word)
        if base is not None and base in self.vocabulary:
            return base, SINGULAR_SCORE
        return None

    def _fuzzy(self, word: str) -> Correction | None:
        if len(word) < 4:
            return None
        choices = self._by_initial.get(word[0])
        if not choices:
            return None
        max_edits = 1 if len(word) <= 7 else 2
        matches = process.extract(word, choices, scorer=OSA.distance,
                                  score_cutoff=max_edits, limit=5)
        best: Correction | None = None
        for choice, distance, _index in matches:
            if len(choice) < 4 or (len(word) <= 5 and len(choice) != len(word) + 1):
                continue
            score = round(fuzz.ratio(word, choice))
            if distance > 1 and score < MIN_TWO_EDIT_SCORE:
                continue
            if best is None or score > best[1]:
                best = (choice, score)
        return best


def ocr_variants(word: str) -> list[str]:
    """Readings of `word` with OCR confusions undone ("b1n" → "bln", "bin")."""
    variants: list[str] = []
    if not word.isalpha() and not word.isdigit():
        variants += dict.fromkeys(word.translate(table) for table in OCR_DIGITS)
    variants += [word.replace(wrong, right) for wrong, right in OCR_PAIRS if wrong in word]
    return variants
