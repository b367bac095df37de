from django import template
from django.utils.translation import pgettext

register = template.Library()


@register.filter
def label(value: object) -> str:
    """A model's choice label in the current language (the labels are listed in labels.py)."""
    return pgettext("choice", str(value))
