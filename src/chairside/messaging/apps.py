from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "chairside.messaging"
    label = "messaging"
    verbose_name = _("Messages")

    def ready(self) -> None:
        # Register the tasks in web processes too (workers autodiscover them): message_send
        # wakes the deliverer by task name, which then runs eagerly when Celery is told to.
        from chairside.messaging import tasks  # noqa: F401
