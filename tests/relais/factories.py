from decimal import Decimal

from reemploi.enums import DeviceState
from relais import services
from relais.rules import LineRequest
from tests.reemploi.factories import DeviceFactory, category


def stock_device(relais, code="laptop", price=None, **fields):
    """A device already received by `relais` (in stock), as the refurbishers' shipment leaves it."""
    return DeviceFactory(
        holder=relais, state=DeviceState.IN_STOCK, category=category(code), price=price, **fields
    )


def sell(actor, beneficiary, *devices_and_prices, payment_method="cash", **kwargs):
    lines = []
    for item in devices_and_prices:
        device, price, *rest = item
        lines.append(LineRequest(device, Decimal(str(price)), rest[0] if rest else None))
    return services.sale_create(
        actor=actor,
        relais=beneficiary.relais,
        beneficiary=beneficiary,
        lines=lines,
        payment_method=payment_method,
        **kwargs,
    )
