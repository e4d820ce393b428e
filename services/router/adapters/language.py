"""Offline language detection with lingua, restricted to the supported languages, built once per process."""

from __future__ import annotations

import functools
import unicodedata
from typing import Protocol

from switchboard.router.domain.config import SUPPORTED_LANGUAGES

# Latin-script texts shorter than this are too weak to tell apart ("hello" scores as Italian).
MIN_LATIN_CHARS = 12


class LanguageDetector(Protocol):
    def detect(self, text: str) -> str:
        """BCP-47 primary tag of a supported language, or "" when unsure."""


@functools.cache
def _lingua():
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in SUPPORTED_LANGUAGES]
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_minimum_relative_distance(0.1)
        .with_preloaded_language_models()
        .build()
    )


def _distinctive_script(text: str) -> bool:
    """CJK, kana, Hangul and Cyrillic identify their language family even in a word or two."""
    for ch in text:
        if ord(ch) >= 0x0400 and unicodedata.category(ch).startswith("L"):
            return True
    return False


class LinguaDetector:
    def __init__(self) -> None:
        self._detector = _lingua()

    def detect(self, text: str) -> str:
        stripped = text.strip()
        if not stripped or (len(stripped) < MIN_LATIN_CHARS and not _distinctive_script(stripped)):
            return ""
        language = self._detector.detect_language_of(stripped)
        return language.iso_code_639_1.name.lower() if language is not None else ""
