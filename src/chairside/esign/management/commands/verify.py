"""`chairside verify PACKAGE.zip`: check an evidence package offline, with nothing but the
ZIP (no network, no database row of the organization). Exit code 0 when everything
verifies, 1 otherwise; the report is in the language of $LANGUAGE (or --language)."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from chairside.esign import evidence
from chairside.esign.models import Certificate
from chairside.esign.package import PackageReport, verify_package
from chairside.esign.validation import MODIFICATION_TEXT

KINDS = dict(Certificate.Kind.choices)

MAX_PACKAGE = 200 * 1024 * 1024


def language_from_environment() -> str:
    """The first supported language of $LANGUAGE, $LC_ALL, $LC_MESSAGES or $LANG."""
    supported = {code.lower() for code, _name in settings.LANGUAGES}
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for value in os.environ.get(variable, "").split(":"):
            code = value.split(".")[0].replace("_", "-").lower()
            if code.startswith("zh"):
                code = "zh-hans"
            elif code.startswith("en"):
                code = "en"
            if code in supported:
                return code
    return str(settings.LANGUAGE_CODE)


class Command(BaseCommand):
    help = "Verify an evidence package (ZIP) offline: exit code 0 when everything verifies."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("package", help="the evidence package (ZIP)")
        parser.add_argument(
            "--language", default="", help="report language (en, zh-hans); default: $LANGUAGE"
        )
        parser.add_argument(
            "--ca",
            default="",
            help="the clinic's published CA certificate (PEM or DER): the package's must be it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options["language"] or language_from_environment()):
            path = Path(options["package"])
            try:
                if path.stat().st_size > MAX_PACKAGE:
                    raise CommandError(_("%(path)s is too large.") % {"path": path})
                data = path.read_bytes()
            except OSError as exc:
                raise CommandError(
                    _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
                ) from exc
            expected_ca = Path(options["ca"]).read_bytes() if options["ca"] else None
            report = verify_package(data, expected_ca=expected_ca)
            self.stdout.write(render(report))
            if not report.ok:
                raise CommandError(_("The evidence package does NOT verify."), returncode=1)
            self.stdout.write(self.style.SUCCESS(_("The evidence package verifies.")))


def _yes_no(value: Any) -> str:
    return str(_("yes")) if value else str(_("no"))


def render(report: PackageReport) -> str:
    """The report as plain text, one finding a line."""
    lines = [
        _("Evidence package of document %(number)s") % {"number": report.number or "?"},
        "",
    ]
    for finding in report.findings:
        mark = "OK  " if finding.ok else "FAIL"
        lines.append(f"[{mark}] {finding.message}")
    if report.signatures:
        lines += ["", _("Signatures:")]
        for s in report.signatures:
            when = evidence.iso_utc(s.signing_time) if s.signing_time else "-"
            lines.append(
                "  "
                + _(
                    "%(field)s: %(name)s (%(role)s), time-stamped %(time)s; intact %(intact)s, "
                    "trusted %(trusted)s, revoked %(revoked)s. %(level)s"
                )
                % {
                    "field": s.field,
                    "name": s.signer_name,
                    "role": KINDS.get(s.kind, s.kind),
                    "time": when,
                    "intact": _yes_no(s.intact),
                    "trusted": _yes_no(s.trusted),
                    "revoked": _yes_no(s.revoked),
                    "level": MODIFICATION_TEXT[s.modification_level],
                }
            )
    lines.append("")
    if report.tree_size:
        lines.append(
            _("Evidence log: %(events)s events of this document in a log of %(size)s entries.")
            % {"events": report.events, "size": report.tree_size}
        )
    if report.ca_sha256:
        lines.append(_("CA certificate SHA-256: %(sha256)s") % {"sha256": report.ca_sha256})
        if not report.ca_pinned:
            lines.append(
                _(
                    "The signatures were checked against the package's own CA: compare its "
                    "SHA-256 with the CA certificate the clinic publishes, or pass --ca."
                )
            )
    if report.tsa_root_sha256:
        lines.append(
            _("Time-stamping root SHA-256: %(sha256)s") % {"sha256": report.tsa_root_sha256}
        )
    if report.first_broken_index is not None:
        lines.append(_("First broken entry: %(index)s") % {"index": report.first_broken_index})
    return "\n".join(str(line) for line in lines)
