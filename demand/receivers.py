"""The demand board listens to the catalogue; shops never imports demand (arrows point one way)."""
import logging

from django.db import DatabaseError
from django.dispatch import receiver

from shops.signals import search_performed

from . import services

logger = logging.getLogger(__name__)


@receiver(search_performed, dispatch_uid="demand.search_performed")
def count_search_miss(sender, query: str, results: int, category: str = "", province: str = "", **kwargs):
    """Count a catalogue search that found nothing, from the web pages or the API: only the words, the
    category and the province filter, never who searched (SearchLog, read by the seller insights).

    A failed write loses one count, never the buyer's page.
    """
    if results:
        return
    try:
        services.record_search_miss(query=query, category=category or "", province=province or "")
    except DatabaseError:
        logger.exception("Could not count a search that found nothing")
