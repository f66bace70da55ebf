"""The tenant's logo: an uploaded PNG, JPEG or WebP, checked and re-encoded, kept in the database.

The upload is read by Pillow only after its size (at most 2 MB) and its declared pixel count (at most 40
megapixels, so a decompression bomb is refused before it is decoded) are checked; it must really be a PNG,
JPEG or WebP whatever its name says. What is kept is a fresh PNG of at most 512×512 pixels drawn from the
decoded pixels: no metadata, no trailing bytes, nothing of the original file is served. One logo per tenant;
each change and removal is audited. The caller commits.
"""

from __future__ import annotations

import hashlib
import io
import warnings

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from saas.audit import audit
from saas.extensions import db
from saas.models import utcnow
from tenants.profile_models import TenantLogo
from tenants.scoping import current_tenant_id
from tenants.services.errors import ServiceError

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 40_000_000
BOX = (512, 512)
FORMATS = ("PNG", "JPEG", "WEBP")


def _refuse(message: str) -> ServiceError:
    return ServiceError("validation_failed", fields={"logo": message})


def reencoded(data: bytes) -> tuple[bytes, int, int]:
    """The PNG kept for an upload, with its width and height; ServiceError on the `logo` field otherwise."""
    if not data:
        raise _refuse(_("Choose an image file."))
    if len(data) > MAX_BYTES:
        raise _refuse(_("The image may be at most %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise _refuse(_("The image has too many pixels."))
                image.load()
                image = ImageOps.exif_transpose(image)
                image = image.convert("RGBA" if "A" in image.getbands() or image.mode == "P" else "RGB")
                image.thumbnail(BOX)
                out = io.BytesIO()
                image.save(out, "PNG", optimize=True)
                return out.getvalue(), image.width, image.height
    except ServiceError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _refuse(_("The image has too many pixels.")) from err
    except UnidentifiedImageError as err:
        raise _refuse(_("Choose a PNG, JPEG or WebP image.")) from err
    except (OSError, ValueError, SyntaxError) as err:  # truncated or broken inside
        raise _refuse(_("This image cannot be read; save it again as PNG or JPEG.")) from err


def current_logo() -> TenantLogo | None:
    return db.session.scalar(select(TenantLogo).limit(1))


def set_logo(data: bytes, *, actor_id: int | None) -> TenantLogo:
    """Replace the tenant's logo with the upload (checked and re-encoded)."""
    png, width, height = reencoded(data)
    logo = current_logo()
    if logo is None:
        logo = TenantLogo(content_type="image/png", data=png, digest="", width=width, height=height)
        db.session.add(logo)
    logo.content_type, logo.data, logo.width, logo.height = "image/png", png, width, height
    logo.digest, logo.uploaded_by, logo.uploaded_at = hashlib.sha256(png).hexdigest(), actor_id, utcnow()
    audit("tenant.logo_changed", f"tenant:{current_tenant_id()}", actor_id=actor_id,
          width=width, height=height)
    return logo


def remove_logo(*, actor_id: int | None) -> bool:
    """Remove the logo; False when there was none (nothing written)."""
    logo = current_logo()
    if logo is None:
        return False
    db.session.delete(logo)
    audit("tenant.logo_removed", f"tenant:{current_tenant_id()}", actor_id=actor_id)
    return True
