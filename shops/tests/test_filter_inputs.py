"""The catalogue filter form's inputs, written in Python: the markup Django's widgets would write, escaped."""
from django.forms.utils import flatatt
from django.utils.html import format_html

from shops.search import CategoryTree
from shops.search.forms import CatalogueFilterForm

FIELDS = ("q", "min_price", "max_price", "in_stock", "certified")


def through_flatatt(bound) -> str:
    widget = bound.field.widget.get_context(bound.html_name, bound.value(), bound.build_widget_attrs(
        {"id": bound.auto_id}))["widget"]
    value = widget["value"]
    return format_html('<input type="{}" name="{}"{}{}>', bound.field.widget.input_type, bound.html_name,
                       format_html(' value="{}"', value) if value is not None else "", flatatt(widget["attrs"]))


def test_inputs_are_the_markup_flatatt_gives_with_every_value_escaped():
    hostile = '苹果 "><script>alert(1)</script>&\''
    form = CatalogueFilterForm({"q": hostile, "min_price": "1.5", "max_price": "x<y", "in_stock": "on"},
                               tree=CategoryTree([]))
    form.is_valid()
    for name in FIELDS:
        assert str(form[name]) == through_flatatt(form[name])
    assert "<script>" not in str(form["q"]) and "&lt;script&gt;" in str(form["q"])
    assert str(form["in_stock"]).endswith(" checked>") and "checked" not in str(form["certified"])
    assert 'value="x&lt;y"' in str(form["max_price"])  # the visitor's own text comes back to correct
