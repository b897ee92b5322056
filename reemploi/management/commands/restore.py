from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reemploi.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restaure une archive écrite par « manage.py backup » (remplace la base et les fichiers)."

    def add_arguments(self, parser):
        parser.add_argument("source")
        parser.add_argument("--yes", action="store_true", help="ne pas demander de confirmation")

    def handle(self, *args, source, yes=False, **options):
        path = Path(source)
        if not path.exists():
            raise CommandError(f"Archive introuvable : {path}")
        if not yes and input("La base actuelle sera remplacée. Continuer ? [o/N] ").strip().lower() not in (
            "o",
            "oui",
        ):
            raise CommandError("Restauration annulée.")
        try:
            manifest = restore(path)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Restauré depuis {path} (sauvegarde du {manifest['created_at']}) : {len(manifest['media'])} fichiers."
            )
        )
