from django.db.models import Q


def device_search(queryset, *, q="", state="", category=None, holder=None):
    """Filter devices by free text (serial, asset tag, public id or the URL a label's QR code holds),
    state, category and holder."""
    q = (q or "").strip()
    if q:
        if "/" in q:  # a scanned QR code: the device page URL ends with the device's public id
            q = q.rstrip("/").rsplit("/", 1)[-1]
        queryset = queryset.filter(
            Q(serial_number__iexact=q)
            | Q(asset_tag__iexact=q)
            | Q(public_id__iexact=q.upper())
            | Q(serial_number__istartswith=q)
            | Q(model__icontains=q)
        )
    if state:
        queryset = queryset.filter(state=state)
    if category is not None:
        queryset = queryset.filter(category=category)
    if holder is not None:
        queryset = queryset.filter(holder=holder)
    return queryset
