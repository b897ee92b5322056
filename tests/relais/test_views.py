from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reemploi.enums import DeviceState
from reemploi.models import Document
from relais.models import Loan, Sale
from tests.beneficiaries.factories import BeneficiaryFactory, CheckFactory
from tests.reemploi.factories import OrganisationFactory, SiteFactory, departement, member_of

from .factories import sell, stock_device

pytestmark = pytest.mark.django_db


def _sale_post(buyer, *items, kind="sale", payment="cash"):
    data = {"beneficiary": str(buyer.uuid), "kind": kind, "payment_method": payment}
    for device, price, *bundle in items:
        data[f"device-{device.uuid}"] = "on"
        data[f"price-{device.uuid}"] = price
        if bundle:
            data[f"bundle-{device.uuid}"] = bundle[0]
    return data


def test_sale_form_refuses_a_price_above_the_cap_with_a_clear_message(client, staff, buyer, relais):
    laptop = stock_device(relais)
    client.force_login(staff)
    response = client.post(reverse("relais:sale_create"), _sale_post(buyer, (laptop, "180,01")))
    page = response.content.decode()
    assert response.status_code == 200
    assert "La vente n'a pas été enregistrée" in page
    assert "180,01 € pour" in page and "dépasse le plafond légal de 180,00 €" in page
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.IN_STOCK and not Sale.objects.exists()


def test_sale_form_sells_at_the_cap_and_shows_the_receipt(
    client, staff, buyer, relais, django_capture_on_commit_callbacks
):
    laptop = stock_device(relais, price=150)
    client.force_login(staff)
    page = client.get(reverse("relais:sale_create") + f"?beneficiaire={buyer.uuid}").content.decode()
    assert "Éligible" in page and laptop.public_id in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("relais:sale_create"), _sale_post(buyer, (laptop, "180")))
    page = client.get(response.url).content.decode()
    assert "Vente enregistrée : 1 appareil(s), 180,00 €" in page
    assert "Télécharger le reçu VTE-" in page
    sale = Sale.objects.get()
    receipt = sale.receipt
    assert client.get(reverse("document_download", args=[receipt.uuid])).status_code == 200


def test_sale_form_second_laptop_same_household_is_refused(client, staff, buyer, relais):
    sell(staff, buyer, (stock_device(relais), "180"))
    client.force_login(staff)
    response = client.post(reverse("relais:sale_create"), _sale_post(buyer, (stock_device(relais), "100")))
    assert "Quota atteint" in response.content.decode()


def test_sales_of_another_relais_are_not_found(client, staff, relais):
    other = OrganisationFactory(relais=True, departement=departement())
    other_buyer = CheckFactory(beneficiary=BeneficiaryFactory(relais=other)).beneficiary
    sale = sell(member_of(other), other_buyer, (stock_device(other), "100"))
    client.force_login(staff)
    assert client.get(reverse("relais:sale_detail", args=[sale.uuid])).status_code == 404
    assert other_buyer.display_name not in client.get(reverse("relais:sale_list")).content.decode()
    # Nor can a relais sell to someone it does not follow, by guessing their id.
    response = client.post(
        reverse("relais:sale_create"), _sale_post(other_buyer, (stock_device(relais), "100"))
    )
    assert "Choisissez le bénéficiaire" in response.content.decode()


def test_stock_lists_devices_with_their_cap_and_refuses_a_price_above_it(client, staff, relais):
    laptop = stock_device(relais, price=140)
    stock_device(OrganisationFactory(relais=True), serial_number="ELSEWHERE-1")
    client.force_login(staff)
    page = client.get(reverse("relais:stock")).content.decode()
    assert laptop.public_id in page and "ELSEWHERE-1" not in page and "180,00 €" in page
    response = client.post(reverse("relais:stock_price", args=[laptop.uuid]), {"price": "200"}, follow=True)
    assert "plafond légal pour cette catégorie est de 180,00 €" in response.content.decode()


def test_loan_screens_lend_list_overdue_and_return(client, staff, relais):
    tablet = stock_device(relais, "tablet")
    person = BeneficiaryFactory(relais=relais)
    client.force_login(staff)
    response = client.post(
        reverse("relais:loan_create"), {"beneficiary": person.pk, "device": tablet.pk, "due_on": "2000-01-01"}
    )
    assert "La date de retour est déjà passée" in response.content.decode()
    response = client.post(
        reverse("relais:loan_create"),
        {"beneficiary": person.pk, "device": tablet.pk, "due_on": "2099-01-01"},
        follow=True,
    )
    assert "Prêt enregistré" in response.content.decode()
    loan = Loan.objects.get()
    Loan.objects.filter(pk=loan.pk).update(lent_on="2024-01-01", due_on="2024-02-01")
    page = client.get(reverse("relais:loan_list") + "?voir=en-retard").content.decode()
    assert "en retard" in page and tablet.public_id in page
    response = client.post(
        reverse("relais:loan_return", args=[loan.uuid]), {"note": "RAS", "after": "later"}, follow=True
    )
    assert "bloqué jusqu&#x27;à l&#x27;effacement de ses données" in response.content.decode()


def test_return_screen_sends_the_device_back_to_a_workshop(client, staff, buyer, relais):
    laptop = stock_device(relais)
    sale = sell(staff, buyer, (laptop, "150"))
    workshop = OrganisationFactory(refurbisher=True, name="Atelier solidaire")
    client.force_login(staff)
    client.post(
        reverse("relais:return_create", args=[sale.uuid]),
        {"device": str(laptop.uuid), "defect": "Ne démarre plus", "remedy": "repair"},
    )
    response = client.post(
        reverse("relais:return_send", args=[laptop.sale_lines.get().guarantee_return.uuid]),
        {"refurbisher": workshop.pk},
        follow=True,
    )
    assert "Appareil confié à Atelier solidaire" in response.content.decode()
    laptop.refresh_from_db()
    assert laptop.state == DeviceState.RECEIVED and laptop.holder == workshop
    page = client.get(reverse("device_detail", args=[laptop.uuid]))
    assert page.status_code == 404  # the workshop holds it now; the relais only sees its own devices


def test_device_page_shows_the_sale_panel(client, staff, buyer, relais):
    laptop = stock_device(relais)
    sell(staff, buyer, (laptop, "150"))
    client.force_login(staff)
    page = client.get(reverse("device_detail", args=[laptop.uuid])).content.decode()
    assert "Au relais" in page and buyer.display_name in page and "150,00 €" in page


def test_directory_export_and_import_for_the_coordinator(client, coordinator, staff, relais):
    relais.siret = "73282932000074"
    relais.save()
    site = SiteFactory(
        organisation=relais, name="Relais du Banlay", address="2 rue du Banlay", postal_code="58000"
    )
    client.force_login(staff)
    response = client.post(
        reverse("relais:profile_edit", args=[site.uuid]),
        {"opening_hours": "lundi matin", "public_devices": 2},
    )
    assert "n&#x27;est pas au format OpenStreetMap" in response.content.decode()
    response = client.post(
        reverse("relais:profile_edit", args=[site.uuid]),
        {
            "opening_hours": "Mo-Fr 09:00-12:00",
            "public_devices": 2,
            "sells_equipment": "on",
            "programmes": ["Relais numérique (Emmaüs Connect)"],
        },
        follow=True,
    )
    assert "Profil du relais enregistré" in response.content.decode()
    assert client.get(reverse("relais:directory_import")).status_code == 403
    export = client.get(reverse("relais:directory_export")).content.decode()
    assert "Acquisition de matériel informatique à prix solidaire" in export and "Relais du Banlay" in export
    client.force_login(coordinator)
    upload = SimpleUploadedFile(
        "lieux.csv", export.replace("Relais du Banlay", "Relais du Banlay (nouveau nom)").encode()
    )
    response = client.post(reverse("relais:directory_import"), {"file": upload})
    page = response.content.decode()
    assert "0</strong> lieu(x) créé(s), <strong>1</strong> mis à jour" in page


def test_sale_form_ignores_a_malformed_beneficiary_id(client, staff):
    client.force_login(staff)
    assert client.get(reverse("relais:sale_create") + "?beneficiaire=nimporte-quoi").status_code == 200
    assert client.get(reverse("relais:loan_create") + "?beneficiaire=nimporte-quoi").status_code == 200


def test_sale_form_reads_a_french_decimal_comma_and_shows_prices_the_french_way(client, staff, buyer, relais):
    laptop = stock_device(relais, price=150)
    client.force_login(staff)
    page = client.get(reverse("relais:sale_create") + f"?beneficiaire={buyer.uuid}").content.decode()
    assert f'id="price-{laptop.uuid}" value="150,00"' in page
    client.post(reverse("relais:sale_create"), _sale_post(buyer, (laptop, "179,50 €")))
    assert Sale.objects.get().lines.get().price == Decimal("179.50")


@pytest.mark.parametrize("typed", ["NaN", "Infinity", "-inf", "cent euros"])
def test_sale_form_refuses_an_unreadable_price_in_french(client, staff, buyer, relais, typed):
    laptop = stock_device(relais)
    client.force_login(staff)
    response = client.post(reverse("relais:sale_create"), _sale_post(buyer, (laptop, typed)))
    assert response.status_code == 200
    assert "Prix illisible pour" in response.content.decode()
    assert not Sale.objects.exists()


def test_stock_price_reads_a_decimal_comma(client, staff, relais):
    laptop = stock_device(relais, price=150)
    client.force_login(staff)
    response = client.post(
        reverse("relais:stock_price", args=[laptop.uuid]), {"price": "129,90"}, follow=True
    )
    laptop.refresh_from_db()
    assert laptop.price == Decimal("129.90") and "129,90 €" in response.content.decode()
    assert 'value="129,90"' in client.get(reverse("relais:stock")).content.decode()


def test_a_sale_without_receipt_gets_one_from_its_page(
    client, staff, buyer, relais, django_capture_on_commit_callbacks
):
    sale = sell(staff, buyer, (stock_device(relais), "150"))
    Document.objects.filter(kind="sale_receipt").delete()  # a sale recorded before receipts existed
    client.force_login(staff)
    page = client.get(reverse("relais:sale_detail", args=[sale.uuid])).content.decode()
    assert "Aucun reçu n'a été édité pour cette vente" in page and "Éditer le reçu" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("relais:receipt_issue", args=[sale.uuid]))
    receipt = sale.receipt
    assert receipt.status == "issued" and receipt.title == f"Reçu de vente du {sale.sold_on:%d/%m/%Y}"
    # Asked again, it is not issued twice.
    client.post(reverse("relais:receipt_issue", args=[sale.uuid]))
    assert Document.objects.filter(kind="sale_receipt").count() == 1


def test_a_failed_receipt_can_be_issued_again(
    client, staff, buyer, relais, django_capture_on_commit_callbacks
):
    sale = sell(staff, buyer, (stock_device(relais), "150"))
    Document.objects.filter(kind="sale_receipt").update(status="failed")
    client.force_login(staff)
    page = client.get(reverse("relais:sale_detail", args=[sale.uuid])).content.decode()
    assert "La génération du reçu a échoué" in page and "Relancer l'édition du reçu" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("relais:receipt_issue", args=[sale.uuid]))
    assert sale.receipt.status == "issued"


def test_sale_page_does_not_link_to_a_device_sent_back_to_a_workshop(client, staff, buyer, relais):
    laptop = stock_device(relais)
    sale = sell(staff, buyer, (laptop, "150"))
    client.force_login(staff)
    link = reverse("device_detail", args=[laptop.uuid])
    assert link in client.get(reverse("relais:sale_detail", args=[sale.uuid])).content.decode()
    client.post(
        reverse("relais:return_create", args=[sale.uuid]),
        {"device": str(laptop.uuid), "defect": "Ne démarre plus", "remedy": "repair"},
    )
    workshop = OrganisationFactory(refurbisher=True, name="Atelier solidaire")
    client.post(
        reverse("relais:return_send", args=[laptop.sale_lines.get().guarantee_return.uuid]),
        {"refurbisher": workshop.pk},
    )
    page = client.get(reverse("relais:sale_detail", args=[sale.uuid])).content.decode()
    assert link not in page and "Confié à Atelier solidaire" in page


def test_loan_form_names_the_category_of_each_device(client, staff, relais):
    tablet = stock_device(relais, "tablet", brand="Samsung", model="Galaxy Tab A")
    client.force_login(staff)
    page = client.get(reverse("relais:loan_create")).content.decode()
    assert f"Tablette — Samsung Galaxy Tab A · {tablet.public_id}" in page


def test_directory_warns_about_places_without_a_pivot_and_the_profile_fills_it(client, staff, relais):
    site = SiteFactory(organisation=relais, is_relais_shop=True)
    client.force_login(staff)
    page = client.get(reverse("relais:directory")).content.decode()
    assert "1 lieu sans SIRET, RNA ni RIDET" in page and "SIRET manquant" in page
    response = client.post(
        reverse("relais:profile_edit", args=[site.uuid]),
        {"pivot": "W581234567", "public_devices": 2, "sells_equipment": "on"},
        follow=True,
    )
    page = response.content.decode()
    assert "Profil du relais enregistré" in page and "SIRET manquant" not in page
    export = client.get(reverse("relais:directory_export")).content.decode()
    assert ",W581234567," in export
