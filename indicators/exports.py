"""Every dashboard table as CSV (for a French spreadsheet: `;`, decimal comma, UTF-8 with BOM)
and as XLSX (numbers stay numbers), with what the figures cover written next to them."""

import csv
import io

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

HEADER_FILL = PatternFill("solid", fgColor="E3F1ED")
NUMBER_FORMATS = {0: "#,##0", 1: "#,##0.0", 2: "#,##0.00"}


def _kind(decimals):
    return min(decimals or 0, 2)


def describe(selection):
    """What the figures cover, as (label, value) lines."""
    return [
        (_("Département"), str(selection.departement)),
        (_("Territoire"), selection.territory_label),
        (_("Période"), selection.label),
        (
            _("Calculé le"),
            date_format(selection.computed_on, "SHORT_DATE_FORMAT") if selection.computed_on else _("jamais"),
        ),
        (_("Exporté le"), date_format(timezone.localtime(), "SHORT_DATETIME_FORMAT")),
    ]


def _csv_value(value, column, row):
    if value is None or value == "":
        return ""
    if column.numeric:
        return f"{value:.{column.decimals(row) or 0}f}".replace(".", ",")
    return str(value)


def table_csv(table, selection):
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([str(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_value(row.get(column.key), column, row) for column in table.columns])
    return buffer.getvalue().encode("utf-8")


def _sheet_title(text, used):
    title = "".join(ch for ch in str(text) if ch not in "[]:*?/\\")[:31]
    base, number = title, 2
    while title in used:
        suffix = f" {number}"
        title, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(title)
    return title


def _write_table(sheet, table):
    sheet.append([str(column.label) for column in table.columns])
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in table.rows:
        sheet.append([row.get(column.key) for column in table.columns])
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        if column.numeric:
            cells = sheet.iter_rows(min_row=2, max_row=len(table.rows) + 1, min_col=index, max_col=index)
            for row, (cell,) in zip(table.rows, cells, strict=True):
                cell.number_format = NUMBER_FORMATS[_kind(column.decimals(row))]
        width = max(
            [len(str(column.label))] + [len(str(row.get(column.key) or "")) for row in table.rows[:200]]
        )
        sheet.column_dimensions[letter].width = min(max(width + 2, 10), 60)
    sheet.freeze_panes = "A2"
    if table.note:
        sheet.append([])
        sheet.append([str(table.note)])


def _write_about(sheet, selection, tables):
    sheet.append([_("Indicateurs de la stratégie départementale")])
    sheet["A1"].font = Font(bold=True, size=13)
    for label, value in describe(selection):
        sheet.append([label, value])
    sheet.append([])
    sheet.append([_("Tableaux"), ""])
    for table in tables:
        sheet.append([str(table.title), str(table.note)])
    sheet.column_dimensions["A"].width = 45
    sheet.column_dimensions["B"].width = 80


def tables_xlsx(tables, selection):
    """One sheet per table, then a sheet saying what the figures cover."""
    workbook = Workbook()
    used = set()
    first = True
    for table in tables:
        sheet = workbook.active if first else workbook.create_sheet()
        first = False
        sheet.title = _sheet_title(table.title, used)
        _write_table(sheet, table)
    _write_about(workbook.create_sheet(_sheet_title(_("À propos"), used)), selection, tables)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
