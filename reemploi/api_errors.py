from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .lifecycle import TransitionError, TransitionForbidden


def exception_handler(exc, context):
    """Domain errors become readable 4xx bodies: {"detail": "...", "code": "..."}."""
    if isinstance(exc, TransitionForbidden):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, TransitionError):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            body = {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
        else:
            body = {"detail": " ".join(str(m) for m in exc.messages)}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, PermissionDenied) and not str(exc):
        return Response({"detail": "Action non autorisée."}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()  # its French detail, not Django's "No X matches the given query."
    return drf_exception_handler(exc, context)
