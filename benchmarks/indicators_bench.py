"""Benchmark of the indicators on the national dataset (see national_dataset.py). Prints
`name=value` lines:

- the full recomputation of every indicator for every département (target: under 60 s), with the
  time spent reading, computing and writing, as the night's first computation and again the same
  day (which replaces that day's figures);
- the mesh indicators for the whole of France with the spatial index (target: under 2 s), and the
  ratio to a brute-force search measured on a sample of communes and extrapolated;
- the dashboard page served from snapshots, for the Nièvre (target: median under 100 ms).

    DATABASE_URL=postgres://.../bench DJANGO_DEBUG=1 python benchmarks/indicators_bench.py
"""

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reemploi.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from indicators import computations as c  # noqa: E402
from indicators import selectors, services  # noqa: E402
from indicators.models import IndicatorSnapshot, SnapshotRun  # noqa: E402
from reemploi.enums import OrganisationKind  # noqa: E402
from reemploi.models import Membership, Organisation, Site  # noqa: E402


def out(name, value):
    print(f"{name}={value}", flush=True)


def full_recompute():
    """The nightly case (the day's first computation: today's snapshots are cleared first), then a
    second computation the same day, which replaces the day's figures."""
    IndicatorSnapshot.objects.filter(computed_on=timezone.localdate()).delete()
    for name in ("full_recompute", "recompute_same_day"):
        run = SnapshotRun.objects.create()
        started = time.perf_counter()
        run = services.snapshots_compute(run_id=run.pk)
        out(f"{name}_seconds", f"{time.perf_counter() - started:.1f}")
        for phase, seconds in run.timings.items():
            out(f"{name}_{phase}_seconds", seconds)
    out("full_recompute_departements", run.departements_computed)
    out("full_recompute_snapshots", run.snapshots_written)


def mesh(sample_size, python_sample_size):
    started = time.perf_counter()
    places = selectors.places_load(Site.objects.public_places())
    points = selectors.places_load(Site.objects.collection_points())
    codes = selectors.departements_to_compute()
    communes = selectors.communes_load(codes)
    out("mesh_load_seconds", f"{time.perf_counter() - started:.2f}")
    out("mesh_communes", len(communes.insee))
    out("mesh_places", len(places.id))
    out("mesh_collection_points", len(points.id))
    dataset = c.Dataset(
        today=timezone.localdate(),
        departements=dict.fromkeys(sorted(codes), ""),
        categories={},
        organisations=c.Organisations(),
        distributions=c.DistributionEvents(),
        intakes=c.DeviceFlows(),
        disposals=c.DeviceFlows(),
        places=places,
        collection_points=points,
        communes=communes,
    )
    started = time.perf_counter()
    builder = c.RowBuilder(dataset)
    builder.place_indicators()
    out("mesh_france_seconds", f"{time.perf_counter() - started:.2f}")
    out("mesh_france_rows", len(builder.rows))

    # The nearest place of every commune of France, spatial index against brute force.
    started = time.perf_counter()
    tree_km, _index = c.nearest_km(communes.latitude, communes.longitude, places.latitude, places.longitude)
    tree_seconds = time.perf_counter() - started
    out("mesh_nearest_kdtree_seconds", f"{tree_seconds:.3f}")
    rng = np.random.default_rng(1)
    sample = rng.choice(len(communes.insee), sample_size, replace=False)
    started = time.perf_counter()
    brute_km = np.empty(sample_size)
    for start in range(0, sample_size, 250):
        rows = sample[start : start + 250]
        distances = c.haversine_km(
            communes.latitude[rows, None],
            communes.longitude[rows, None],
            places.latitude[None, :],
            places.longitude[None, :],
        )
        brute_km[start : start + 250] = distances.min(axis=1)
    numpy_seconds = (time.perf_counter() - started) * len(communes.insee) / sample_size
    out("mesh_bruteforce_numpy_sample", sample_size)
    out("mesh_bruteforce_numpy_extrapolated_seconds", f"{numpy_seconds:.2f}")
    out("mesh_bruteforce_numpy_ratio", f"{numpy_seconds / tree_seconds:.0f}")
    out("mesh_max_difference_km", f"{np.abs(brute_km - tree_km[sample]).max():.2e}")
    small = sample[:python_sample_size]
    place_coordinates = list(zip(places.latitude.tolist(), places.longitude.tolist(), strict=True))
    started = time.perf_counter()
    for row in small.tolist():
        lat, lon = communes.latitude[row], communes.longitude[row]
        best = min(_haversine(lat, lon, plat, plon) for plat, plon in place_coordinates)
        assert abs(best - tree_km[row]) < 1e-6
    python_seconds = (time.perf_counter() - started) * len(communes.insee) / python_sample_size
    out("mesh_bruteforce_python_loop_sample", python_sample_size)
    out("mesh_bruteforce_python_loop_extrapolated_seconds", f"{python_seconds:.0f}")
    out("mesh_bruteforce_python_loop_ratio", f"{python_seconds / tree_seconds:.0f}")


def _haversine(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * c.EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def dashboard(code, requests):
    organisation = Organisation.objects.filter(
        kind=OrganisationKind.DEPARTEMENT, departement__code=code
    ).first()
    user, _created = get_user_model().objects.get_or_create(username=f"bench-departement-{code}")
    Membership.objects.get_or_create(user=user, organisation=organisation)
    client = Client()
    client.force_login(user)
    for name, url in (
        ("dashboard_page", f"/indicateurs/?departement={code}"),
        ("dashboard_page_month", f"/indicateurs/?departement={code}&period_type=month"),
        ("dashboard_api", f"/api/indicators/dashboard/?departement={code}"),
    ):
        for _ in range(3):
            assert client.get(url).status_code == 200
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        out(f"{name}_median_ms", f"{statistics.median(times):.1f}")
        out(f"{name}_p95_ms", f"{sorted(times)[int(len(times) * 0.95) - 1]:.1f}")
    out("dashboard_bytes", len(client.get(f"/indicateurs/?departement={code}").content))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-recompute", action="store_true", help="use the snapshots already computed")
    parser.add_argument("--sample", type=int, default=2000, help="communes in the brute-force (numpy) sample")
    parser.add_argument("--python-sample", type=int, default=100, help="communes in the pure-Python sample")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--departement", default="58")
    args = parser.parse_args()
    out("database", connection.vendor)
    if not args.skip_recompute:
        full_recompute()
    out("snapshot_table_rows", IndicatorSnapshot.objects.count())
    mesh(args.sample, args.python_sample)
    dashboard(args.departement, args.requests)


if __name__ == "__main__":
    main()
