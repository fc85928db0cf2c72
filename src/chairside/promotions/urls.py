"""Pages of promotions."""

from django.urls import URLPattern, URLResolver

from chairside.promotions.views import coupons, flash_sales

app_name = "promotions"

urlpatterns: list[URLPattern | URLResolver] = []
urlpatterns += coupons.urlpatterns
urlpatterns += flash_sales.urlpatterns
