"""Flushing a test database whose tables are append-only.

Transactional tests (live server, concurrency) empty every table after each test. The append-only
triggers refuse exactly that — as they must in production —, so the test flush sets them aside for
its own statements only (SQLite: drop and re-create them; PostgreSQL: `session_replication_role`),
then puts back the reference data the migrations had loaded (categories, caps, départements), whose
dated rows the triggers would otherwise refuse as retroactive."""

from django.apps import apps
from django.db.backends.base.operations import BaseDatabaseOperations

_original = BaseDatabaseOperations.execute_sql_flush


def _execute_sql_flush(self, sql_list):
    connection = self.connection
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        try:
            _original(self, sql_list)
            _reload_reference_data()
        finally:
            with connection.cursor() as cursor:
                for _name, sql in triggers:
                    cursor.execute(sql)
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            _original(self, sql_list)
            _reload_reference_data()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
    else:
        _original(self, sql_list)


def _reload_reference_data():
    from reemploi.reference import load_reference_data

    load_reference_data(apps)


def install():
    BaseDatabaseOperations.execute_sql_flush = _execute_sql_flush
