"""What the e-signature pages and API share: who is calling, for the evidence log."""

from __future__ import annotations

from django.http import HttpRequest

from chairside.core.web import client_ip
from chairside.esign.services.documents import ClientInfo


def client_info(request: HttpRequest) -> ClientInfo:
    return ClientInfo(ip=client_ip(request), user_agent=request.headers.get("User-Agent", ""))
