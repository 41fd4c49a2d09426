"""neurona."""
from neurona._core import __version__
