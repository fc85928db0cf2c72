"""Pages of billing: the cashier desk, refunds, daily close, catalogue, stored-value cards."""

from chairside.billing.views import cashier, catalogue, close, refunds, stored_value

app_name = "billing"

urlpatterns = [
    *cashier.urlpatterns,
    *refunds.urlpatterns,
    *close.urlpatterns,
    *catalogue.urlpatterns,
    *stored_value.urlpatterns,
]
