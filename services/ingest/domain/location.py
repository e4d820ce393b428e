"""A shared location (WhatsApp through Meta or Twilio) as the message text, written one way for both."""
from __future__ import annotations


def location_text(*, name: object = None, address: object = None, latitude: object = None,
                  longitude: object = None) -> str:
    """'Label, Address (lat, lon)': what the customer picked and where it is; empty parts left out.
    There is no location field on MessageReceived, and an agent reads text: a pin with only
    coordinates still arrives as a message instead of an empty one."""
    place = ", ".join(str(part).strip() for part in (name, address) if part not in (None, "") and str(part).strip())
    coordinates = f"{latitude}, {longitude}" if latitude not in (None, "") and longitude not in (None, "") else ""
    if place and coordinates:
        return f"{place} ({coordinates})"
    return place or coordinates
