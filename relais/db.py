"""The decree's caps as the database enforces them, whoever writes.

A sale line's price (or, for a desktop set, the sum of its lines) may not exceed the PriceCap in force
on the sale's date for the device's category (the desktop cap for a set), unless the network's
CapPolicy leaves that provenance uncapped. The category and provenance are read from the device row
and the cap from the kernel's reemploi_pricecap: nothing written on the sale line is trusted.

A capped provenance whose category has no cap of the decree in force on the sale date (a sale dated
before 10 November 2022) is refused, never read as « no cap ». The device's asking price is held under
today's cap the same way (SQLite reads today in UTC, PostgreSQL in Europe/Paris).

The same SELECT finds violations on SQLite and PostgreSQL; migrations wrap it in triggers
(`reinstall` puts the current version in place)."""

MESSAGE = (
    "Prix au-dessus du plafond du décret n° 2022-1413 en vigueur à la date de la vente "
    "pour cette catégorie d'appareil."
)
_SQL_MESSAGE = MESSAGE.replace("'", "''")


def _cap_for(category_expr, day_expr):
    return f"""(SELECT c.amount FROM reemploi_pricecap c
        WHERE c.category_id = {category_expr}
          AND c.effective_from = (SELECT MAX(c2.effective_from) FROM reemploi_pricecap c2
                                  WHERE c2.category_id = {category_expr} AND c2.effective_from <= {day_expr}))"""


def _capped(provenance_expr, day_expr):
    return f"""COALESCE((SELECT p.is_capped FROM relais_cappolicy p
        WHERE p.provenance = {provenance_expr}
          AND p.effective_from = (SELECT MAX(p2.effective_from) FROM relais_cappolicy p2
                                  WHERE p2.provenance = {provenance_expr} AND p2.effective_from <= {day_expr})), TRUE)"""


DESKTOP = "(SELECT e.id FROM reemploi_equipmentcategory e WHERE e.code = 'desktop')"
# Today in the platform's time zone (the caps change at midnight in France).
_PARIS_TODAY = "(now() AT TIME ZONE 'Europe/Paris')::date"


def _above_cap(price_expr, category_expr, day_expr):
    """True when `price_expr` exceeds the cap in force on `day_expr` for a category of the decree, or
    when no cap of the decree is in force then: a capped provenance with no cap row is refused, never
    read as « no cap » (a sale dated before the decree, a category whose cap is missing)."""
    cap = _cap_for(category_expr, day_expr)
    decree = f"(SELECT e.is_decree_category FROM reemploi_equipmentcategory e WHERE e.id = {category_expr})"
    return f"({price_expr} > {cap} OR ({decree} AND {cap} IS NULL))"


def violations(sale_expr):
    """A query returning a row for each line or set of sale `sale_expr` priced above its cap."""
    return f"""
SELECT l.id FROM relais_saleline l
  JOIN reemploi_device d ON d.id = l.device_id
  JOIN relais_sale s ON s.id = l.sale_id
 WHERE l.sale_id = {sale_expr} AND l.bundle IS NULL
   AND {_capped("d.provenance", "s.sold_on")}
   AND {_above_cap("l.price", "d.category_id", "s.sold_on")}
UNION ALL
SELECT MIN(l.id) FROM relais_saleline l
  JOIN reemploi_device d ON d.id = l.device_id
  JOIN relais_sale s ON s.id = l.sale_id
 WHERE l.sale_id = {sale_expr} AND l.bundle IS NOT NULL
 GROUP BY l.bundle, s.sold_on
HAVING MAX(CASE WHEN {_capped("d.provenance", "s.sold_on")} THEN 1 ELSE 0 END) = 1
   AND {_above_cap("ROUND(SUM(l.price), 2)", DESKTOP, "s.sold_on")}
"""


PRICE_MESSAGE = "Prix demandé au-dessus du plafond du décret n° 2022-1413 en vigueur pour cette catégorie."
_SQL_PRICE_MESSAGE = PRICE_MESSAGE.replace("'", "''")


def asking_price_violation(today_expr):
    """A condition on NEW (a device row): its asking price is above today's cap of its category, for a
    provenance the network caps."""
    return f"""NEW.price IS NOT NULL
   AND {_capped("NEW.provenance", today_expr)}
   AND {_above_cap("NEW.price", "NEW.category_id", today_expr)}"""


def _sqlite_guard(name, event, table, sale_expr):
    return f"""
CREATE TRIGGER {name} AFTER {event} ON {table}
BEGIN
    SELECT RAISE(ABORT, '{_SQL_MESSAGE}') WHERE EXISTS ({violations(sale_expr)});
END;"""


SQLITE_FORWARD = [
    _sqlite_guard("relais_saleline_cap_insert", "INSERT", "relais_saleline", "NEW.sale_id"),
    _sqlite_guard("relais_saleline_cap_update", "UPDATE", "relais_saleline", "NEW.sale_id"),
    _sqlite_guard("relais_sale_cap_update", "UPDATE OF sold_on", "relais_sale", "NEW.id"),
    f"""
CREATE TRIGGER relais_device_cap_update AFTER UPDATE OF category_id, provenance ON reemploi_device
BEGIN
    SELECT RAISE(ABORT, '{_SQL_MESSAGE}') WHERE EXISTS (
        SELECT 1 FROM relais_saleline x WHERE x.device_id = NEW.id AND x.is_active
           AND EXISTS ({violations("x.sale_id")}));
END;""",
]
SQLITE_FORWARD += [
    f"""
CREATE TRIGGER relais_device_price_{event.split()[0].lower()} BEFORE {event} ON reemploi_device
WHEN {asking_price_violation("date('now')")}
BEGIN
    SELECT RAISE(ABORT, '{_SQL_PRICE_MESSAGE}');
END;"""
    for event in ("INSERT", "UPDATE OF price, category_id, provenance")
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "relais_saleline_cap_insert",
        "relais_saleline_cap_update",
        "relais_sale_cap_update",
        "relais_device_cap_update",
        "relais_device_price_insert",
        "relais_device_price_update",
    )
]

POSTGRES_FORWARD = [
    f"""
CREATE OR REPLACE FUNCTION relais_check_sale_cap(p_sale_id bigint) RETURNS void AS $$
BEGIN
    IF EXISTS ({violations("p_sale_id")}) THEN
        RAISE EXCEPTION '{_SQL_MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;""",
    """
CREATE OR REPLACE FUNCTION relais_saleline_cap_guard() RETURNS trigger AS $$
BEGIN
    PERFORM relais_check_sale_cap(NEW.sale_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;""",
    """
CREATE OR REPLACE FUNCTION relais_sale_cap_guard() RETURNS trigger AS $$
BEGIN
    PERFORM relais_check_sale_cap(NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;""",
    """
CREATE OR REPLACE FUNCTION relais_device_cap_guard() RETURNS trigger AS $$
DECLARE
    v_sale_id bigint;
BEGIN
    FOR v_sale_id IN SELECT sale_id FROM relais_saleline WHERE device_id = NEW.id AND is_active LOOP
        PERFORM relais_check_sale_cap(v_sale_id);
    END LOOP;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER relais_saleline_cap AFTER INSERT OR UPDATE ON relais_saleline
    FOR EACH ROW EXECUTE FUNCTION relais_saleline_cap_guard();""",
    """CREATE TRIGGER relais_sale_cap AFTER UPDATE OF sold_on ON relais_sale
    FOR EACH ROW EXECUTE FUNCTION relais_sale_cap_guard();""",
    """CREATE TRIGGER relais_device_cap AFTER UPDATE OF category_id, provenance ON reemploi_device
    FOR EACH ROW EXECUTE FUNCTION relais_device_cap_guard();""",
    f"""
CREATE OR REPLACE FUNCTION relais_device_price_guard() RETURNS trigger AS $$
BEGIN
    IF {asking_price_violation(_PARIS_TODAY)} THEN
        RAISE EXCEPTION '{_SQL_PRICE_MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER relais_device_price BEFORE INSERT OR UPDATE OF price, category_id, provenance
    ON reemploi_device FOR EACH ROW EXECUTE FUNCTION relais_device_price_guard();""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS relais_saleline_cap ON relais_saleline;",
    "DROP TRIGGER IF EXISTS relais_sale_cap ON relais_sale;",
    "DROP TRIGGER IF EXISTS relais_device_cap ON reemploi_device;",
    "DROP TRIGGER IF EXISTS relais_device_price ON reemploi_device;",
    "DROP FUNCTION IF EXISTS relais_device_price_guard();",
    "DROP FUNCTION IF EXISTS relais_saleline_cap_guard();",
    "DROP FUNCTION IF EXISTS relais_sale_cap_guard();",
    "DROP FUNCTION IF EXISTS relais_device_cap_guard();",
    "DROP FUNCTION IF EXISTS relais_check_sale_cap(bigint);",
]


def install(schema_editor):
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}.get(
        schema_editor.connection.vendor
    )
    if statements is None:
        raise NotImplementedError("Les plafonds ne sont garantis en base que sur SQLite et PostgreSQL.")
    for statement in statements:
        schema_editor.execute(statement)


def reinstall(schema_editor):
    uninstall(schema_editor)
    install(schema_editor)


def uninstall(schema_editor):
    for statement in {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(
        schema_editor.connection.vendor, []
    ):
        schema_editor.execute(statement)
