"""verm: judge code by its picture."""
__version__ = "0.1.0"
