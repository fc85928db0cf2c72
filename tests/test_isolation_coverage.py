"""Every operation of the billing, clinical, promotions, forms and esign APIs falls to one module's
isolation tests (membership's one module checks its whole tag itself).

Each of those modules proves its own part complete (test_every_..._is_covered); this test
proves the parts add up to the whole tag, so a new path under a new prefix cannot slip
between them untested.
"""

from __future__ import annotations

from tests.apiclient import documented_operations
from tests.billing.test_catalogue_api import MINE as CATALOGUE
from tests.billing.test_stored_value_api import MINE as STORED_VALUE
from tests.clinical.test_plans_api import MY_PREFIXES as PLANS
from tests.clinical.test_records_api import RECORD_PATHS as RECORDS
from tests.esign.test_api import MINE as ESIGN
from tests.forms.test_api import MINE as FORMS
from tests.promotions.test_coupons_api import MINE as COUPONS
from tests.promotions.test_flash_sales_api import MINE as FLASH_SALES

BILLS = ("/bills", "/refunds", "/daily-closes", "/patients/{}/arrears")


def _path(operation: str) -> str:
    return operation.split(" ", 1)[1]


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def test_every_billing_operation_belongs_to_an_isolation_suite(db: None) -> None:
    stray = {
        op
        for op in documented_operations(tags={"billing"})
        if not _under(_path(op), BILLS + CATALOGUE + STORED_VALUE)
    }
    assert stray == set()


def test_every_clinical_operation_belongs_to_an_isolation_suite(db: None) -> None:
    stray = {
        op
        for op in documented_operations(tags={"clinical"})
        if not _under(_path(op), PLANS + RECORDS)
    }
    assert stray == set()


def test_every_promotions_operation_belongs_to_an_isolation_suite(db: None) -> None:
    stray = {
        op
        for op in documented_operations(tags={"promotions"})
        if not _under(_path(op), (*COUPONS, FLASH_SALES))
    }
    assert stray == set()


def test_every_forms_operation_belongs_to_an_isolation_suite(db: None) -> None:
    stray = {op for op in documented_operations(tags={"forms"}) if not _under(_path(op), FORMS)}
    assert stray == set()


def test_every_esign_operation_belongs_to_an_isolation_suite(db: None) -> None:
    stray = {op for op in documented_operations(tags={"esign"}) if not _under(_path(op), ESIGN)}
    assert stray == set()
