"""Reading and writing media: photos (image.py), metadata checks (metadata.py)."""

from blurkit.media.image import (
                                 DEFAULT_MAX_PIXELS,
                                 PHOTO_SUFFIXES,
                                 Photo,
                                 output_suffix,
                                 read_photo,
                                 write_photo,
)
from blurkit.media.metadata import find_metadata

__all__ = ["DEFAULT_MAX_PIXELS", "PHOTO_SUFFIXES", "Photo", "find_metadata", "output_suffix",
           "read_photo", "write_photo"]
