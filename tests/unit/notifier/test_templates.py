import pytest
from switchboard.notifier.adapters.template_files import load_template_sources
from switchboard.notifier.domain.templates import TemplateCatalog, TemplateError, normalize_language
from switchboard.notifier.domain.variables import csat_links, template_variables

LANGUAGES = ["en", "es", "fr", "de", "it", "pt", "ru", "ja", "ko", "zh"]
CUSTOMER_TEMPLATES = ["transcript", "csat_survey", "order_delayed", "still_working", "queue_position"]


@pytest.fixture(scope="module")
def catalog():
    return TemplateCatalog(load_template_sources())


def variables(**extra):
    return template_variables(
        brand_name="Lumen Lights", customer_name="Ana", order_ids=["A-1001"], conversation_id="c-1",
        extra={"transcript": "Ana: hi\nBot: hello", "position": "3", "eta_seconds": "240",
               "new_eta": "2026-03-04", **extra},
        csat=csat_links("https://sb.example", "lumen", "i-1"))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", CUSTOMER_TEMPLATES)
def test_every_customer_template_exists_in_every_language_and_is_filled(catalog, language, name):
    msg = catalog.render(name, language, variables())
    assert msg.language == language and not msg.fell_back
    assert msg.subject and "Lumen Lights" in msg.subject + msg.text
    assert "{{" not in msg.text and "{%" not in msg.text
    if name in ("order_delayed",):
        assert "A-1001" in msg.text
    if name == "csat_survey":
        assert "https://sb.example/v1/brands/lumen/csat/i-1?score=5" in msg.text
        assert 'href="https://sb.example/v1/brands/lumen/csat/i-1?score=1"' in msg.html
    if name == "queue_position":
        assert "3" in msg.text and "4" in msg.text  # position and eta minutes


def test_language_specific_content(catalog):
    assert catalog.render("transcript", "de", variables()).subject == "Ihr Chat mit Lumen Lights"
    assert "Здравствуйте Ana" in catalog.render("still_working", "ru-RU", variables()).text
    assert "您好" in catalog.render("still_working", "zh-Hans", variables()).text


def test_missing_language_falls_back_to_english_never_empty(catalog):
    msg = catalog.render("transcript", "sw", variables())
    assert msg.language == "en" and msg.fell_back and "transcript of your chat" in msg.text


def test_template_missing_in_language_falls_back_per_template():
    catalog = TemplateCatalog({"en": {"x": {"text": "hello {{ brand_name }}"}}, "fr": {"y": {"text": "salut"}}})
    assert catalog.render("x", "fr", {"brand_name": "B"}).text == "hello B"


def test_translation_rendering_empty_or_broken_falls_back_to_english():
    catalog = TemplateCatalog({"en": {"x": {"text": "hi {{ name }}"}},
                               "fr": {"x": {"text": "{% if False %}x{% endif %}"}},
                               "de": {"x": {"text": "{{ unknown_var }}"}}})
    assert catalog.render("x", "fr", {"name": "A"}).text == "hi A"
    assert catalog.render("x", "de", {"name": "A"}).text == "hi A"


def test_no_renderable_template_is_an_error_not_an_empty_message():
    catalog = TemplateCatalog({"en": {"x": {"text": "{{ '' }}"}}})
    with pytest.raises(TemplateError, match="rendered empty"):
        catalog.render("x", "en", {})
    with pytest.raises(TemplateError, match="missing"):
        catalog.render("nope", "fr", {})


def test_html_part_is_autoescaped_text_part_is_not(catalog):
    msg = catalog.render("reply", "en", variables(text="<script>alert(1)</script> & more"))
    assert "<script>" in msg.text
    assert "&lt;script&gt;" in msg.html and "<script>" not in msg.html


def test_catalog_requires_english_and_text():
    with pytest.raises(TemplateError, match="English"):
        TemplateCatalog({"fr": {"x": {"text": "a"}}})
    with pytest.raises(TemplateError, match="no 'text'"):
        TemplateCatalog({"en": {"x": {"subject": "a"}}})


@pytest.mark.parametrize("tag,expected", [("pt-BR", "pt"), ("zh_Hans", "zh"), ("", "en"), (None, "en"), ("FR", "fr")])
def test_normalize_language(tag, expected):
    assert normalize_language(tag) == expected


def test_names_used_by_router_and_sla_resolve_to_our_templates(catalog):
    assert catalog.has("chat_transcript") and catalog.has("proactive_update_third_party")
    assert catalog.render("chat_transcript", "fr", variables()).subject == "Votre discussion avec Lumen Lights"
    sla_vars = template_variables(brand_name="B", customer_name="", order_ids=[], conversation_id="c",
                                  extra={"order_id": "O-7", "estimated_delivery": "2026-03-12T00:00:00+00:00"})
    text = catalog.render("order_delayed", "en", sla_vars).text
    assert "order O-7 is delayed; it should now arrive by 2026-03-12" in text
    assert "still working" in catalog.render("proactive_update_third_party", "en", variables(waiting_hours="4")).text
