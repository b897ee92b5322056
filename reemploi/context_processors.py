from django.apps import apps
from django.conf import settings

from . import permissions

# Up to this many entries the menu is one row of links; past it (the coordinator sees every app's
# screens) the entries are grouped by app under disclosure menus.
NAV_FLAT_MAX = 9


def platform(request):
    user = getattr(request, "user", None)
    nav = _navigation(user) if user is not None and user.is_authenticated else []
    return {
        "network_name": settings.NETWORK_NAME,
        "network_logo": settings.NETWORK_LOGO,
        "nav": nav,
        "nav_groups": _grouped(nav) if len(nav) > NAV_FLAT_MAX else None,
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


def _grouped(items):
    """[(title or None, [(url_name, label), ...]), ...]: an app's screens under the app's name, in order.

    Entries outside an app (home, devices, administration) stay single links (title None).
    """
    groups = []
    by_title = {}
    for url_name, label in items:
        namespace = url_name.split(":", 1)[0] if ":" in url_name else ""
        title = apps.get_app_config(namespace).verbose_name if apps.is_installed(namespace) else None
        if title is None:
            groups.append((None, [(url_name, label)]))
        elif title in by_title:
            by_title[title].append((url_name, label))
        else:
            by_title[title] = [(url_name, label)]
            groups.append((title, by_title[title]))
    return groups


# Apps add their menu entries here from AppConfig.ready(): {"url": name, "label": ..., "kinds": [...]}
NAV_ENTRIES: list[dict] = []
