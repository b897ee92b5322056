import pytest


@pytest.fixture(autouse=True)
def _kernel_lifecycle_without_app_guards(monkeypatch):
    """The kernel's tests exercise the kernel's transition table and permissions. Guards that apps
    register on top (the refurbishers' sanitisation guard...) are tested in those apps' suites."""
    from collections import defaultdict

    from reemploi import lifecycle

    monkeypatch.setattr(lifecycle.DEVICE, "guards", defaultdict(list))
