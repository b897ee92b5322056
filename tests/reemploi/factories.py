import factory
from django.contrib.auth import get_user_model

from reemploi.enums import DeviceState, OrganisationKind, Provenance, Role
from reemploi.models import Commune, Departement, Device, EquipmentCategory, Membership, Organisation, Site


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("motdepasse-de-test-2026")


def departement(code="58"):
    return Departement.objects.get(code=code)


class CommuneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Commune
        django_get_or_create = ["insee_code"]

    insee_code = factory.Sequence(lambda n: f"58{n % 1000:03d}")
    name = factory.Faker("city", locale="fr_FR")
    departement = factory.LazyFunction(departement)
    population = 1000
    latitude = 47.0
    longitude = 3.15


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Faker("company", locale="fr_FR")
    kind = OrganisationKind.COMPANY

    class Params:
        coordinator = factory.Trait(kind=OrganisationKind.COORDINATOR, name="Coordination")
        refurbisher = factory.Trait(kind=OrganisationKind.REFURBISHER)
        relais = factory.Trait(kind=OrganisationKind.RELAIS)
        public_body = factory.Trait(kind=OrganisationKind.PUBLIC_BODY)
        prescriber = factory.Trait(kind=OrganisationKind.PRESCRIBER)
        departement_staff = factory.Trait(
            kind=OrganisationKind.DEPARTEMENT, departement=factory.LazyFunction(departement)
        )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = Role.STAFF


def member_of(organisation, role=Role.STAFF, **user_fields):
    """A user with one membership in `organisation`."""
    return MembershipFactory(organisation=organisation, role=role, user=UserFactory(**user_fields)).user


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Faker("street_name", locale="fr_FR")
    commune = factory.SubFactory(CommuneFactory)
    latitude = factory.LazyAttribute(lambda s: s.commune.latitude)
    longitude = factory.LazyAttribute(lambda s: s.commune.longitude)


def category(code="laptop"):
    return EquipmentCategory.objects.get(code=code)


class DeviceFactory(factory.django.DjangoModelFactory):
    """A device created directly in any state (for tests); real code goes through the lifecycle service."""

    class Meta:
        model = Device

    category = factory.LazyFunction(category)
    brand = "Lenovo"
    model = "ThinkPad T480"
    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    provenance = Provenance.COMPANY
    holder = factory.SubFactory(OrganisationFactory, refurbisher=True)
    state = DeviceState.RECEIVED
