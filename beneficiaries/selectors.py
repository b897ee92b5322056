from django.db.models import Q

from reemploi.models import Commune


def departement_ids(organisation):
    """The départements an organisation works in: its own, or those of its sites."""
    if organisation.departement_id:
        return {organisation.departement_id}
    return set(organisation.sites.values_list("commune__departement_id", flat=True))


def communes_for(organisation):
    ids = departement_ids(organisation)
    queryset = Commune.objects.select_related("departement")
    return queryset.filter(departement_id__in=ids) if ids else queryset


def beneficiary_search(queryset, q=""):
    q = (q or "").strip()
    if not q:
        return queryset
    filters = Q()
    for word in q.split():
        filters &= (
            Q(last_name__icontains=word)
            | Q(first_name__icontains=word)
            | Q(organisation_name__icontains=word)
            | Q(household__reference__iexact=word)
            | Q(commune__name__icontains=word)
        )
    return queryset.filter(filters)
