"""blurkit: on-device anonymization of photos and video."""

__version__ = "0.1.0"
