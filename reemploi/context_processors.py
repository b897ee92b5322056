from django.conf import settings

from . import permissions


def platform(request):
    user = getattr(request, "user", None)
    return {
        "network_name": settings.NETWORK_NAME,
        "network_logo": settings.NETWORK_LOGO,
        "nav": _navigation(user) if user is not None and user.is_authenticated else [],
    }


def _navigation(user):
    """The menu a user sees, from the kinds of organisation they belong to."""
    from .enums import OrganisationKind as K

    kinds = {m.organisation.kind for m in permissions.memberships(user)}
    coordinator = permissions.is_coordinator(user)
    items = [("home", "Accueil")]
    if coordinator or kinds - {K.DEPARTEMENT}:
        items.append(("device_list", "Appareils"))
    for entry in NAV_ENTRIES:
        if coordinator or kinds & set(entry["kinds"]):
            items.append((entry["url"], entry["label"]))
    if user.is_staff:
        items.append(("admin:index", "Administration"))
    return items


# Apps add their menu entries here from AppConfig.ready(): {"url": name, "label": ..., "kinds": [...]}
NAV_ENTRIES: list[dict] = []
