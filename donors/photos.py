"""Photos joined to a donation: type and size checked, then re-encoded. Re-encoding drops the
metadata a phone writes (GPS position, device), bounds the size kept, and turns away any file that
only pretends to be an image."""

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
EXTENSIONS = {"jpg", "jpeg", "png", "webp"}
ACCEPT = "image/jpeg,image/png,image/webp"
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is already more than a phone takes
MAX_SIDE = 2000


@dataclass
class PreparedPhoto:
    name: str
    content: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _megabytes(size):
    return f"{size / 1024 / 1024:.0f}".replace(".", ",")


def check_photo_size(uploaded):
    limit = settings.DONORS_PHOTO_MAX_SIZE
    if uploaded.size > limit:
        raise ValidationError(
            _("La photo « %(name)s » est trop lourde (%(max)s Mo au plus).")
            % {"name": uploaded.name, "max": _megabytes(limit)},
            code="photo_too_large",
        )


def prepare_photo(uploaded) -> PreparedPhoto:
    """Check one uploaded photo and return it re-encoded, or raise a ValidationError in French."""
    check_photo_size(uploaded)
    extension = uploaded.name.rsplit(".", 1)[-1].lower() if "." in uploaded.name else ""
    refused = ValidationError(
        _("« %(name)s » n'est pas une photo acceptée : JPEG, PNG ou WebP uniquement.")
        % {"name": uploaded.name},
        code="photo_type",
    )
    if extension not in EXTENSIONS:
        raise refused
    uploaded.seek(0)
    try:
        with Image.open(uploaded) as image:
            if image.format not in FORMATS:
                raise refused
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValidationError(
                    _("La photo « %(name)s » a trop de pixels.") % {"name": uploaded.name},
                    code="photo_pixels",
                )
            image_format = image.format
            image.load()
            image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            if image_format == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            buffer = io.BytesIO()
            options = (
                {"quality": 85, "optimize": True} if image_format in ("JPEG", "WEBP") else {"optimize": True}
            )
            image.save(buffer, format=image_format, **options)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise refused from None
    content_type, extension = FORMATS[image_format]
    return PreparedPhoto(
        name=uploaded.name,
        content=buffer.getvalue(),
        content_type=content_type,
        extension=extension,
        width=image.width,
        height=image.height,
    )
