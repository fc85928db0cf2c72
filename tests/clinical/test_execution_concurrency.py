"""Concurrent execution confirmations of one item on PostgreSQL: never more than planned."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chairside.billing.models import BillLine
from chairside.clinical.models import PlanItem, PlanItemExecution
from chairside.clinical.services.execution import plan_execute
from chairside.clinical.services.plans import PlanItemInput, plan_accept, plan_create
from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from tests.clinical.conftest import Clin
from tests.concurrency import run_concurrently
from tests.conftest import World


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_confirmations_of_one_never_exceed_four(world: World, clin: Clin) -> None:
    with tenant_scope(world.org, world.clinic1):
        plan = plan_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.zhang,
            title="四颗充填",
            items=[PlanItemInput(item_id=clin.filling.pk, teeth=[16, 26, 36, 46])],
        )
        plan_accept(actor=world.frontdesk, clinic=world.clinic1, plan=plan)
        item = PlanItem.objects.get(plan=plan)
    assert item.quantity == 4

    def confirm(_i: int) -> object:
        with tenant_scope(world.org, world.clinic1):
            return plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(item, 1)])

    results = run_concurrently(confirm, 10)

    succeeded = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(succeeded) == 4, results
    assert len(refused) == 6, results
    with tenant_scope(world.org, world.clinic1):
        item.refresh_from_db()
        assert (item.executed_quantity, item.status) == (4, "done")
        assert PlanItemExecution.objects.count() == 4
        lines = list(BillLine.objects.all())
        assert len(lines) == 4
        assert len({line.bill_id for line in lines}) == 1  # one bill for the day
        assert sum(line.amount for line in lines) == Decimal("1200.00")
