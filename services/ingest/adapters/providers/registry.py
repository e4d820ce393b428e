"""Every webhook provider, by the name used in /v1/brands/{brand_id}/webhooks/{provider}.

Adding a provider: write its module next to this one and add one line here.
"""
from __future__ import annotations

from .base import ProviderAdapter
from .cloudevents import CloudEventsHttp
from .mailgun import Mailgun
from .meta_messenger import MetaMessenger
from .meta_whatsapp import MetaWhatsApp
from .sendgrid import SendGrid
from .shopify import Shopify
from .telegram import Telegram
from .twilio import TwilioMessaging
from .twilio_voice import TwilioVoice
from .vk import VK

PROVIDERS: dict[str, ProviderAdapter] = {
    adapter.name: adapter
    for adapter in (
        TwilioMessaging(), TwilioVoice(), MetaWhatsApp(), MetaMessenger(), Mailgun(), SendGrid(), VK(),
        Telegram(), Shopify(), CloudEventsHttp(),
    )
}
