"""Pages of clinical work: the patient's chart, record editor, treatment plans."""

from chairside.clinical.views import plans, records

app_name = "clinical"

urlpatterns = [*records.urlpatterns, *plans.urlpatterns]
