"""Populated-centre names: the matching rule and the spelling variants of the PRA-II register.

The geo-referencing stage matches the register's name-only localities to INEI's populated-centre
map on ``normalise_name(localidad) == normalise_name(nomccpp)`` within the district. The embedded
generator writes the register from INEI's real centre names: :func:`add_spelling_noise` gives the
variants the rule undoes (accents, case, prefixes, abbreviations, punctuation) and
:func:`add_typo` the misspellings it cannot undo (the register's unmatched localities). The
generator asserts that every planted match survives the rule and that every planted non-match
finds nothing.

Matching rule (``normalise_name``), applied in this order:

1. ``Ñ``/``ñ`` -> ``N`` (consistently, so ``PIÑA`` = ``PINA``), then every other accent or
   diacritic is stripped (Unicode NFKD, combining marks dropped), then upper case.
2. Leading administrative prefixes are dropped (repeatedly): ``CC.PP.``, ``C.P.``/``CP``,
   ``CASERIO``, ``ANEXO``, ``COMUNIDAD CAMPESINA (DE)``, ``C.C.``, ``CENTRO POBLADO (DE)``.
3. Abbreviations are expanded as whole words: ``STA.`` -> SANTA, ``STO.`` -> SANTO,
   ``SN.``/``S.`` -> SAN, ``GRAL.`` -> GENERAL (the dot may be missing for STA/STO/SN/GRAL).
4. Every character other than A–Z, 0–9 and space becomes a space; runs of spaces collapse; the
   result is stripped. Words are never glued together, so a hyphen or comma between words is a
   space.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

__all__ = ["normalise_name", "add_spelling_noise", "add_typo", "strip_accents", "PREFIXES",
           "ABBREVIATIONS"]

# Prefixes as the programme wrote them (noise) — all removed by normalise_name.
PREFIXES = ("CC.PP. ", "C.P. ", "CASERIO ", "CASERÍO ", "ANEXO ", "COMUNIDAD CAMPESINA DE ")
# full word -> abbreviations the programme used (noise) — all expanded by normalise_name.
ABBREVIATIONS = {"SANTA": ("STA.",), "SANTO": ("STO.",), "SAN": ("SN.", "S."),
                 "GENERAL": ("GRAL.",)}

_PREFIX_RE = re.compile(
    r"^(?:CC\.?\s*PP\.?|C\.\s*P\.|CP\.?|CASERIO|ANEXO|COMUNIDAD\s+CAMPESINA(?:\s+DE)?|C\.\s*C\.|"
    r"CENTRO\s+POBLADO(?:\s+DE)?)(?=[\s.,;:-]|$)[\s.,;:-]*"
)
_ABBREV_RES = (
    (re.compile(r"\bSTA\b\.?"), "SANTA "),
    (re.compile(r"\bSTO\b\.?"), "SANTO "),
    (re.compile(r"\bSN\b\.?"), "SAN "),
    (re.compile(r"\bS\."), "SAN "),
    (re.compile(r"\bGRAL\b\.?"), "GENERAL "),
)
_NON_ALNUM = re.compile(r"[^A-Z0-9 ]+")
_SPACES = re.compile(r"\s+")
# Most names are already keys: words of A-Z/0-9 with single spaces, no prefix, no abbreviation
# (rules 2-4 change nothing); checking that is ~3x cheaper than applying the rules.
_PLAIN = re.compile(r"[A-Z0-9]+(?: [A-Z0-9]+)*")
_ANY_ABBREV = re.compile("|".join(rx.pattern for rx, _ in _ABBREV_RES))  # any rule of _ABBREV_RES


_FAST = str.maketrans("ÁÉÍÓÚÜÀÈÌÒÙÂÊÎÔÛÄËÏÖÑáéíóúüàèìòùâêîôûäëïöñ",
                      "AEIOUUAEIOUAEIOUAEIONaeiouuaeiouaeiouaeion")


def strip_accents(s: str) -> str:
    """Ñ -> N, then drop every other diacritic (NFKD, combining marks removed)."""
    s = s.translate(_FAST)  # fast path for Spanish letters; NFKD below catches anything else
    if s.isascii():
        return s
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def normalise_name(s: str) -> str:
    """The documented matching key of a populated-centre name (see the module docstring)."""
    if not isinstance(s, str):
        raise TypeError(f"normalise_name expects str, got {type(s).__name__}: {s!r}")
    return _normalise_name(s)


# INEI's ~100,000 centre names recur in every geography drawn and every georeference run
@functools.lru_cache(maxsize=1 << 18)
def _normalise_name(s: str) -> str:
    t = strip_accents(s).upper().strip(" \t.,;:-\"'")
    if _PLAIN.fullmatch(t) and not _PREFIX_RE.match(t) and not _ANY_ABBREV.search(t):
        return t
    for _ in range(3):  # "ANEXO C.P. X" -> "X"
        new = _PREFIX_RE.sub("", t, count=1)
        if new == t:
            break
        t = new
    for rx, full in _ABBREV_RES:
        t = rx.sub(full, t)
    t = _NON_ALNUM.sub(" ", t)
    return _SPACES.sub(" ", t).strip()


_ACCENTABLE = {"A": "Á", "E": "É", "I": "Í", "O": "Ó", "U": "Ú"}


def add_spelling_noise(name: str, rng: np.random.Generator) -> str:
    """Return ``name`` as a programme clerk might have typed it.

    Each kind of noise is applied independently: accents dropped (and Ñ written N) or an accent
    added on a vowel, an administrative prefix, abbreviations (SANTA -> STA. ...), mixed or
    lower case, doubled spaces, punctuation between words or at the end. Every change is one that
    :func:`normalise_name` undoes, so ``normalise_name(add_spelling_noise(x)) ==
    normalise_name(x)`` for any clean name x (the generator asserts it for every planted row).
    """
    u = rng.random(8)
    words = name.split()
    # abbreviations, word by word
    if u[0] < 0.6:
        out = []
        for w in words:
            ab = ABBREVIATIONS.get(strip_accents(w).upper())
            if ab is not None and rng.random() < 0.7:
                out.append(ab[int(rng.integers(len(ab)))])
            else:
                out.append(w)
        words = out
    text = " ".join(words)
    # accents: drop all (and Ñ -> N), or add one on a vowel of a long word
    if u[1] < 0.35:
        text = strip_accents(text)
    elif u[1] < 0.55:
        # only in a full word without an accent yet (not in an abbreviation such as STA.)
        idx, pos = [], 0
        for w in text.split(" "):
            if "." not in w and len(w) > 3 and w == strip_accents(w):
                idx += [pos + i for i, ch in enumerate(w) if ch in _ACCENTABLE]
            pos += len(w) + 1
        if idx:
            i = idx[int(rng.integers(len(idx)))]
            text = text[:i] + _ACCENTABLE[text[i]] + text[i + 1:]
    # word separators: a hyphen or comma between two words, or a doubled space
    if u[2] < 0.25 and " " in text:
        parts = text.split(" ")
        k = int(rng.integers(1, len(parts)))
        sep = (" - ", "-", ", ", "  ")[int(rng.integers(4))]
        text = " ".join(parts[:k]) + sep + " ".join(parts[k:])
    # prefix
    if u[3] < 0.45:
        text = PREFIXES[int(rng.integers(len(PREFIXES)))] + text
    # case
    if u[4] < 0.25:
        text = text.title()
    elif u[4] < 0.35:
        text = text.lower()
    # trailing punctuation / stray spaces
    if u[5] < 0.15:
        text = text + "."
    if u[6] < 0.1:
        text = " " + text + " "
    return text


# Orthographic variants of Andean names (Quechua/Aymara spelt with the older Spanish or the newer
# official alphabet) and common Spanish slips; each replaces one occurrence.
SPELLING_VARIANTS = (
    ("HUA", "WA"), ("HUI", "WI"), ("CC", "Q"), ("CC", "K"), ("QU", "K"), ("LL", "Y"),
    ("V", "B"), ("B", "V"), ("Z", "S"), ("SH", "X"), ("O", "U"), ("U", "O"), ("E", "I"),
    ("I", "E"),
)
_CONNECTIVES = ("DE", "DEL", "LA", "LAS", "EL", "LOS")
_PAREN = re.compile(r"^(?P<main>[^()]*?)\s*\((?P<alt>[^()]+)\)\s*$")


def _typo_candidates(name: str, rng: np.random.Generator) -> list[str]:
    """One misspelling of each applicable kind, in a fixed kind order (drawn positions)."""
    out: list[str] = []
    up = name.upper()
    m = _PAREN.match(up)
    if m and m.group("main").strip():
        # the register uses only one of the two names INEI lists ("PACO PAMPA (PICCPES)")
        out.append((m.group("main"), m.group("alt"))[int(rng.integers(2))].strip())
    words = up.split()
    con = [i for i, w in enumerate(words) if w in _CONNECTIVES and 0 < i < len(words) - 1]
    if con:  # "SAN JUAN DE LLAMA" -> "SAN JUAN LLAMA"
        i = con[int(rng.integers(len(con)))]
        out.append(" ".join(words[:i] + words[i + 1:]))
    hits = [(a, b, k.start()) for a, b in SPELLING_VARIANTS for k in re.finditer(a, up)]
    if hits:
        a, b, pos = hits[int(rng.integers(len(hits)))]
        out.append(up[:pos] + b + up[pos + len(a):])
    # keyboard slips inside a word of 4+ letters: drop, double or swap letters
    spans = [k.span() for k in re.finditer(r"[A-ZÑ]{4,}", up)]
    if spans:
        a, b = spans[int(rng.integers(len(spans)))]
        i = int(rng.integers(a + 1, b - 1))
        slip = int(rng.integers(3))
        if slip == 0:
            out.append(up[:i] + up[i + 1:])
        elif slip == 1:
            out.append(up[:i] + up[i] + up[i:])
        else:
            out.append(up[:i] + up[i + 1] + up[i] + up[i + 2:])
    return out


def add_typo(name: str, rng: np.random.Generator) -> str | None:
    """A misspelling of ``name`` that :func:`normalise_name` does not undo, or None.

    Kinds, as registers show them: one of the two names of an INEI entry with a second name in
    parentheses, a dropped connective (DE, LA, ...), an orthographic variant of an Andean name
    (HUA/WA, CC/Q/K, LL/Y, V/B, O/U, E/I, ...), or a keyboard slip (a letter dropped, doubled or
    swapped with its neighbour). One kind is drawn among those that change the matching key;
    None when no kind does (e.g. a two-letter name).
    """
    key = normalise_name(name)
    cands = [c for c in _typo_candidates(name, rng) if normalise_name(c) not in ("", key)]
    if not cands:
        return None
    return cands[int(rng.integers(len(cands)))]
