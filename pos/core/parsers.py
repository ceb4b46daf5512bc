"""DRF's JSON parser, with JSON nested too deep for Python's parser (a 100,000-deep array) answered as
400 like any other malformed body, instead of a RecursionError and a 500."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deep.") from None
        if not isinstance(data, dict | list):  # `null`, a number, a string: no endpoint takes one
            raise ParseError("The request body must be a JSON object.")
        return data
