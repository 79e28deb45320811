"""The page cache's token hole: each form's CSRF token value is cut out of a page, whatever surrounds it."""
import re

from hypothesis import given
from hypothesis import strategies as st

from core.pagecache import _split_tokens

# What "the value after name=... value=", up to the next quote or the page's end" means, said as a pattern.
REFERENCE = re.compile(rb'(?<=name="csrfmiddlewaretoken" value=")[^"]*')
FIELD = b'<input type="hidden" name="csrfmiddlewaretoken" value="'
pieces = st.lists(st.one_of(st.binary(max_size=12), st.sampled_from([FIELD, b'"', b'">', b"value=", b"tok3n"])),
                  max_size=30)


@given(pieces)
def test_the_page_splits_around_every_token_as_the_pattern_says(chunks):
    body = b"".join(chunks)
    parts, tokens = _split_tokens(body)
    assert parts == REFERENCE.split(body)
    assert tokens == REFERENCE.findall(body)
    joined = parts[0] + b"".join(token + part for token, part in zip(tokens, parts[1:], strict=True))
    assert joined == body


def test_a_page_with_two_forms_has_two_holes():
    body = b"<p>a</p>" + FIELD + b'SECRET1"><p>b</p>' + FIELD + b'SECRET2"><p>c</p>'
    parts, tokens = _split_tokens(body)
    assert tokens == [b"SECRET1", b"SECRET2"]
    assert all(b"SECRET" not in part for part in parts) and len(parts) == 3
