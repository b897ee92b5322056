import logging

from django.core.management.base import BaseCommand

from reemploi import demo


class Command(BaseCommand):
    help = "Crée (ou complète) un réseau de démonstration dans la Nièvre. Peut être relancée sans doublon."

    def handle(self, *args, **options):
        # Without a broker the documents are generated in this process: one "Task ... succeeded" line
        # per document would bury the logins printed below.
        trace = logging.getLogger("celery.app.trace")
        level = trace.level
        trace.setLevel(logging.WARNING)
        try:
            network = demo.build(stdout=self.stdout)
        finally:
            trace.setLevel(level)
        self.stdout.write(self.style.SUCCESS("Réseau de démonstration prêt."))
        self.stdout.write(f"Identifiants de démonstration (mot de passe pour tous : {demo.DEMO_PASSWORD}) :")
        width = max(len(role) for role, _login, _org in network.logins)
        for role, login, organisation in network.logins:
            self.stdout.write(f"  {role.ljust(width)}  {login.ljust(18)}  {organisation}")
