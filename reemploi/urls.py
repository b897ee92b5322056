from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import two_factor, views
from .accounts import ThrottledLoginView

# Each app exposes its screens in `<app>/urls.py` and its API in `<app>/api.py` (`urlpatterns`).
APPS = {
    "donors": "dons/",
    "refurbishers": "atelier/",
    "beneficiaries": "beneficiaires/",
    "relais": "relais/",
    "indicators": "indicateurs/",
}

public = login_not_required

handler500 = "reemploi.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("appareils/", views.device_list, name="device_list"),
    path("appareils/<uuid:uuid>/", views.device_detail, name="device_detail"),
    path("appareils/<uuid:uuid>/transition/", views.device_transition_view, name="device_transition"),
    path("d/<str:public_id>/", views.device_by_public_id, name="device_by_public_id"),
    path("documents/<uuid:uuid>/telecharger/", views.document_download, name="document_download"),
    path("v/<str:code>/", views.document_verify, name="document_verify"),
    path("confidentialite/", views.privacy, name="privacy"),
    path("healthz", views.healthz, name="healthz"),
    path("compte/connexion/", ThrottledLoginView.as_view(), name="login"),
    path("compte/deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("compte/mot-de-passe/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "compte/mot-de-passe/fait/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
    path("compte/reinitialisation/", public(auth_views.PasswordResetView.as_view()), name="password_reset"),
    path(
        "compte/reinitialisation/envoyee/",
        public(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "compte/reinitialisation/<uidb64>/<token>/",
        public(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "compte/reinitialisation/terminee/",
        public(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    path("compte/verification/", two_factor.verify, name="otp_verify"),
    path("compte/securite/", two_factor.setup, name="otp_setup"),
    # The admin logs in through the platform's login (throttling, two-factor authentication).
    path("admin/login/", public(RedirectView.as_view(pattern_name="login", query_string=True))),
    path("admin/", admin.site.urls),
    path("api/", include("reemploi.api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api_docs"),
]
for app, prefix in APPS.items():
    urlpatterns += [path(prefix, include(f"{app}.urls")), path("api/", include(f"{app}.api"))]
