from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "chairside.demo"
    label = "demo"
    verbose_name = "Demo data"
