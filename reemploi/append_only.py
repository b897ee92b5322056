"""Append-only tables in the database itself, whoever writes: a row is inserted once, never updated,
deleted or truncated away. SQLite and PostgreSQL alike; apps call `install(schema_editor, table)` from
a migration for each table they own (the ORM side is `reemploi.models.AppendOnlyModel`).

`not_retroactive` adds the rule of dated rules (caps, cap policies): a new row takes effect today or
later, so that it never changes what past sales were checked against."""

MESSAGE = "Table en ajout seul : ses lignes ne sont ni modifiées ni supprimées."
RETROACTIVE_MESSAGE = "Une règle datée prend effet aujourd'hui ou plus tard : elle ne réécrit pas le passé."


def _sql_text(message):
    return message.replace("'", "''")


def _postgres(table, not_retroactive):
    statements = [
        f"""
CREATE OR REPLACE FUNCTION reemploi_forbid_change_{table}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{_sql_text(MESSAGE)} (%%)', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;""",
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION reemploi_forbid_change_{table}();""",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION reemploi_forbid_change_{table}();""",
    ]
    if not_retroactive:
        statements += [
            f"""
CREATE OR REPLACE FUNCTION reemploi_not_retroactive_{table}() RETURNS trigger AS $$
BEGIN
    IF NEW.effective_from < CURRENT_DATE THEN
        RAISE EXCEPTION '{_sql_text(RETROACTIVE_MESSAGE)}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;""",
            f"""CREATE TRIGGER {table}_not_retroactive BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION reemploi_not_retroactive_{table}();""",
        ]
    return statements


def _postgres_reverse(table):
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
        f"DROP TRIGGER IF EXISTS {table}_not_retroactive ON {table};",
        f"DROP FUNCTION IF EXISTS reemploi_forbid_change_{table}();",
        f"DROP FUNCTION IF EXISTS reemploi_not_retroactive_{table}();",
    ]


def _sqlite(table, not_retroactive):
    statements = [
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{_sql_text(MESSAGE)}'); END;""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{_sql_text(MESSAGE)}'); END;""",
    ]
    if not_retroactive:
        statements.append(
            f"""CREATE TRIGGER {table}_not_retroactive BEFORE INSERT ON {table}
WHEN NEW.effective_from < date('now')
BEGIN SELECT RAISE(ABORT, '{_sql_text(RETROACTIVE_MESSAGE)}'); END;"""
        )
    return statements


def _sqlite_reverse(table):
    return [
        f"DROP TRIGGER IF EXISTS {table}_{suffix};"
        for suffix in ("no_update", "no_delete", "not_retroactive")
    ]


def install(schema_editor, table, *, not_retroactive=False):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = _postgres(table, not_retroactive)
    elif vendor == "sqlite":
        statements = _sqlite(table, not_retroactive)
    else:
        raise NotImplementedError("Les tables en ajout seul ne sont garanties que sur SQLite et PostgreSQL.")
    for statement in statements:
        schema_editor.execute(statement)


def uninstall(schema_editor, table):
    vendor = schema_editor.connection.vendor
    statements = {"postgresql": _postgres_reverse, "sqlite": _sqlite_reverse}.get(vendor, lambda t: [])(table)
    for statement in statements:
        schema_editor.execute(statement)


# --- SQLite table rebuilds -------------------------------------------------------------------------
# SQLite alters a column by rebuilding its table; the rebuild checks the whole schema and fails on a
# trigger that reads the table (e.g. the relais' cap triggers reading reemploi_pricecap), and a trigger
# on the rebuilt table is lost. A migration that alters such a table wraps its operations between
# `set_aside_sqlite_triggers` and `restore_sqlite_triggers` (RunPython operations, no-ops elsewhere).

_SET_ASIDE = "_reemploi_triggers_set_aside"


def set_aside_sqlite_triggers(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        triggers = cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    setattr(connection, _SET_ASIDE, [sql for _name, sql in triggers])


def restore_sqlite_triggers(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for sql in getattr(connection, _SET_ASIDE, []):
            cursor.execute(sql)
    setattr(connection, _SET_ASIDE, [])
