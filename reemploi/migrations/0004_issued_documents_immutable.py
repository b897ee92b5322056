from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION reemploi_forbid_issued_document_change() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'issued' THEN
        RAISE EXCEPTION 'Le document %% est émis : il ne peut être ni modifié ni supprimé.', OLD.number
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reemploi_document_issued_immutable
    BEFORE UPDATE OR DELETE ON reemploi_document
    FOR EACH ROW EXECUTE FUNCTION reemploi_forbid_issued_document_change();
"""
REVERSE = "DROP TRIGGER IF EXISTS reemploi_document_issued_immutable ON reemploi_document;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("reemploi", "0003_device_price")]

    operations = [migrations.RunPython(forward, reverse)]
