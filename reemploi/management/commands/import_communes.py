from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reemploi.communes import CommuneImportError, communes_import, format_count

SKIPPED_ROWS_SHOWN = 50


class Command(BaseCommand):
    help = _(
        "Importe ou met à jour les communes depuis un fichier CSV (code_insee, nom, code_departement, "
        "codes_postaux, latitude, longitude, population) ou le JSON des communes de geo.api.gouv.fr. "
        "Le format est reconnu au contenu ; une seconde importation ne crée pas de doublons."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("chemin du fichier CSV ou JSON des communes"))

    def handle(self, *args, file, verbosity=1, **options):
        try:
            report = communes_import(path_or_file=file, stdout=self.stdout if verbosity >= 1 else None)
        except CommuneImportError as exc:
            raise CommandError(exc.message) from exc

        if verbosity >= 1 and report.skipped:
            self.stdout.write(_("Lignes ignorées :"))
            for skipped in report.skipped[:SKIPPED_ROWS_SHOWN]:
                self.stdout.write(f"  {skipped}")
            hidden = len(report.skipped) - SKIPPED_ROWS_SHOWN
            if hidden > 0:
                self.stdout.write(
                    ngettext(
                        "  … et %(count)s autre ligne ignorée.",
                        "  … et %(count)s autres lignes ignorées.",
                        hidden,
                    )
                    % {"count": format_count(hidden)}
                )
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(report.summary()))
