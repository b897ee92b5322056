from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reemploi.backup import BackupError, backup


class Command(BaseCommand):
    help = "Sauvegarde la base de données et les fichiers stockés dans une archive .tar.gz."

    def add_arguments(self, parser):
        parser.add_argument(
            "target", nargs="?", help="fichier d'archive (par défaut backups/reemploi-<date>.tar.gz)"
        )

    def handle(self, *args, target=None, **options):
        path = Path(target or f"backups/reemploi-{timezone.now():%Y%m%d-%H%M%S}.tar.gz")
        try:
            manifest = backup(path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Sauvegarde écrite dans {path} : base {manifest['database']['vendor']}, {len(manifest['media'])} fichiers."
            )
        )
