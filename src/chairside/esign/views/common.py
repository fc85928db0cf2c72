"""What the e-signature pages share: the messages their scripts show."""

from __future__ import annotations

from django.utils.translation import gettext as _


def signer_text() -> dict[str, str]:
    """The messages of the signing script (esign/sign.js), in the request's language."""
    return {
        "codeSent": _("A code was sent to %(phone)s."),
        "resendIn": _("Resend in %(seconds)ss"),
        "failed": _("Something went wrong. Please try again."),
        "noKey": _("This browser does not hold the key of your certificate."),
        "page": _("Page %(number)s"),
    }


def enrol_text() -> dict[str, str]:
    """The messages of the enrolment script (esign/enrol.js)."""
    return {
        "codeSent": _("A code was sent to %(phone)s."),
        "failed": _("Something went wrong. Please try again."),
        "unsupported": _(
            "This browser cannot keep a signing key. Use an up-to-date Chrome, Edge or Safari."
        ),
        "keyHere": _("The key of this certificate is in this browser."),
        "keyElsewhere": _("The key of this certificate is not in this browser."),
    }
