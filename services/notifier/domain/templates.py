"""Template selection and rendering: per-language jinja2, English fallback, never empty.

Sources are plain strings handed in by the caller (loaded from package data at start-up),
so rendering stays pure. Text parts render without escaping; HTML parts autoescape.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import StrictUndefined
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import SandboxedEnvironment

FALLBACK_LANGUAGE = "en"
PARTS = ("subject", "text", "html")
# Names other services use for the same message (router: chat_transcript; sla: proactive_update_third_party).
TEMPLATE_ALIASES = {"chat_transcript": "transcript", "proactive_update_third_party": "still_working"}


class TemplateError(ValueError):
    """No usable template (name unknown in every language, or all candidates render empty)."""


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    template: str
    language: str       # the language actually used (after fallback)
    subject: str
    text: str
    html: str | None
    fell_back: bool


def normalize_language(tag: str | None) -> str:
    """BCP-47 tag -> primary subtag: 'pt-BR' -> 'pt', 'zh_Hans' -> 'zh', '' -> 'en'."""
    if not tag:
        return FALLBACK_LANGUAGE
    return tag.replace("_", "-").split("-")[0].strip().lower() or FALLBACK_LANGUAGE


class TemplateCatalog:
    """sources: {language: {template name: {"subject"|"text"|"html": jinja2 source}}}."""

    def __init__(self, sources: Mapping[str, Mapping[str, Mapping[str, str]]]):
        if FALLBACK_LANGUAGE not in sources:
            raise TemplateError("the template catalog needs English ('en') templates as the fallback")
        # StrictUndefined: a missing variable is a template bug we want to see, and it makes
        # the renderer fall back to English instead of sending a message with holes.
        self._text_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined,
                                              trim_blocks=True, lstrip_blocks=True)
        self._html_env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined,
                                              trim_blocks=True, lstrip_blocks=True)
        self._compiled: dict[tuple[str, str], dict] = {}
        for language, templates in sources.items():
            for name, parts in templates.items():
                unknown = set(parts) - set(PARTS)
                if unknown:
                    raise TemplateError(f"template {language}/{name} has unknown parts {sorted(unknown)}")
                if not parts.get("text"):
                    raise TemplateError(f"template {language}/{name} has no 'text' part")
                compiled = {}
                for part, source in parts.items():
                    env = self._html_env if part == "html" else self._text_env
                    try:
                        compiled[part] = env.from_string(source)
                    except JinjaTemplateError as exc:
                        raise TemplateError(f"template {language}/{name}.{part} does not compile: {exc}") from exc
                self._compiled[(normalize_language(language), name)] = compiled

    def languages(self, name: str) -> set[str]:
        return {lang for (lang, n) in self._compiled if n == name}

    def has(self, name: str) -> bool:
        name = self.resolve(name)
        return (FALLBACK_LANGUAGE, name) in self._compiled or bool(self.languages(name))

    def resolve(self, name: str) -> str:
        if any(n == name for (_, n) in self._compiled):
            return name  # a configured template always wins over an alias
        return TEMPLATE_ALIASES.get(name, name)

    def render(self, name: str, language: str | None, variables: Mapping[str, object]) -> RenderedMessage:
        name = self.resolve(name)
        wanted = normalize_language(language)
        candidates = [wanted] if wanted == FALLBACK_LANGUAGE else [wanted, FALLBACK_LANGUAGE]
        errors: list[str] = []
        for lang in candidates:
            compiled = self._compiled.get((lang, name))
            if compiled is None:
                errors.append(f"{lang}: missing")
                continue
            try:
                text = compiled["text"].render(variables).strip()
                subject = compiled["subject"].render(variables).strip() if "subject" in compiled else ""
                html = compiled["html"].render(variables).strip() if "html" in compiled else None
            except JinjaTemplateError as exc:
                errors.append(f"{lang}: {exc}")
                continue
            if not text:
                errors.append(f"{lang}: rendered empty")
                continue
            return RenderedMessage(name, lang, " ".join(subject.split()), text, html or None,
                                   fell_back=lang != wanted)
        raise TemplateError(f"template '{name}' cannot be rendered ({'; '.join(errors)})")
