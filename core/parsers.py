"""The API's JSON parser: DRF's, except that a body nested too deeply is a 400, never a 500.

Python's json decoder recurses once per nesting level, so `[[[[...]]]]` about a thousand levels deep raises
RecursionError, which DRF's parser lets through as a server error. Here it is a parse error like any other.
"""
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the document is nested too deeply."))
