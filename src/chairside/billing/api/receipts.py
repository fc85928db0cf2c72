"""API of receipts (B6): a bill's receipt (80 mm roll) or full bill (A4) as PDF, rendered by
WeasyPrint with the Chinese font embedded. Readers of the acting clinic's bills may fetch
it (holders of billing.view_all: of any clinic's); another clinic's or organization's bill
is 404, like a missing one."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from chairside.billing.receipts import ReceiptLayout, receipt_filename, receipt_pdf
from chairside.billing.selectors.bills import get_bill
from chairside.core.api_auth import LOOKUP_ERRORS, access_of
from chairside.core.schemas import PathId

router = Router(tags=["billing"])

PDF_RESPONSE = {
    "description": "The receipt as a PDF document.",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


class ReceiptQuery(Schema):
    layout: Literal["receipt", "a4"] = Field(
        "receipt", description="receipt: an 80 mm till receipt; a4: the full bill on A4."
    )


@router.get(
    "/bills/{bill_id}/receipt.pdf",
    response={**LOOKUP_ERRORS},
    summary="Download a bill's receipt as PDF",
    openapi_extra={"responses": {"200": PDF_RESPONSE}},
)
def bill_receipt(
    request: HttpRequest, bill_id: PathId, filters: Query[ReceiptQuery]
) -> HttpResponse:
    access = access_of(request)
    access.require("billing.view")
    clinic = None if access.can("billing.view_all") else access.clinic
    bill = get_bill(bill_id=bill_id, clinic=clinic)
    layout = ReceiptLayout(filters.layout)
    pdf = receipt_pdf(bill=bill, layout=layout, printed_by=access.staff)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{receipt_filename(bill, layout)}"'
    return response
