"""Forms of the template builder: the template's own fields; its blocks and signers come
from the Alpine editor as JSON and are checked by the service."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chairside.forms.models import FormTemplate, FormTemplateVersion
from chairside.forms.services.templates import TemplateData


def _json_list(raw: str) -> list[Any]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=FormTemplate.Kind.choices)
    title = forms.CharField(
        label=_("Printed title"),
        max_length=200,
        required=False,
        help_text=_("Blank: the name."),
    )
    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        required=False,
        help_text=_("Latin letters, digits and -; e.g. implant-consent. Blank: generated."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "class": "mono"}),
    )
    requires_id_number = forms.BooleanField(
        label=_("The patient confirms their resident ID when signing"), required=False
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    blocks_json = forms.CharField(widget=forms.HiddenInput, required=False)
    signers_json = forms.CharField(widget=forms.HiddenInput, required=False)

    @staticmethod
    def initial_of(template: FormTemplate, version: FormTemplateVersion) -> dict[str, Any]:
        return {
            "name": template.name,
            "kind": template.kind,
            "title": version.title,
            "code": template.code,
            "requires_id_number": version.requires_id_number,
            "is_active": template.is_active,
        }

    def blocks(self) -> list[Any]:
        return _json_list(self.data.get("blocks_json", ""))

    def signers(self) -> list[Any]:
        return _json_list(self.data.get("signers_json", ""))

    def data_for_service(self) -> TemplateData:
        data = self.cleaned_data
        return TemplateData(
            name=data["name"],
            kind=data["kind"],
            title=data.get("title") or "",
            code=data.get("code") or "",
            blocks=self.blocks(),
            signers=self.signers(),
            requires_id_number=bool(data.get("requires_id_number")),
            is_active=bool(data.get("is_active")),
        )
