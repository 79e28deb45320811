"""The page kit shared by every app's templates: `{% load kit %}`.

`{% status_badge value label %}` shows a status as a badge whose colour says what the status means to
the reader, the same for a value in every app. The pager and the form field are includes:
templates/includes/pager.html and templates/includes/field.html.
"""
from django import template
from django.utils.html import format_html

register = template.Library()

# Status value -> the badge's extra CSS class (static/css/site.css). A value not listed is a plain badge
# (green: done or going well).
BADGE_TONES: dict[str, str] = {
    # Stopped or went wrong.
    **dict.fromkeys(("cancelled", "refunded", "released", "failed", "payment_due", "exception"), "warn"),
    # Waiting for someone to act: pay, accept, authorise a card, bring the parcel, fill the group.
    **dict.fromkeys(("pending_payment", "awaiting_payment", "new", "pending", "open", "expected"), "wait"),
    # A parcel or shipment on its way between hand-over and delivery.
    **dict.fromkeys(("received", "in_shipment", "in_transit", "departed", "arrived", "out_for_delivery"), "none"),
}


def badge_tone(value) -> str:
    """The CSS class a status value adds to its badge ("" for a plain one)."""
    return BADGE_TONES.get(str(value), "")


@register.simple_tag
def status_badge(value, label) -> str:
    """`{% status_badge order.status order.get_status_display %}` -> <span class="badge wait">Waiting ...</span>."""
    tone = badge_tone(value)
    return format_html('<span class="badge{}">{}</span>', f" {tone}" if tone else "", label)
