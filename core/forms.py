"""Form helpers shared by every app's HTML views."""
from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError


def copy_errors(form: forms.BaseForm, exc: ValidationError, *, rename: Mapping[str, str] | None = None) -> None:
    """Show a service's ValidationError on the Django form the view validated first.

    A message keyed by a field the form has goes under that field; a message keyed by anything else
    (NON_FIELD_ERRORS, or a model field this form does not show) and a ValidationError without keys
    go to the form's non-field errors. `rename` maps a service's field name to the form's, for a form
    that names a field differently (e.g. {"password": "password1"} on the sign-up form).
    """
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    rename = rename or {}
    for field, messages in exc.message_dict.items():
        field = rename.get(field, field)
        form.add_error(field if field in form.fields else None, messages)
