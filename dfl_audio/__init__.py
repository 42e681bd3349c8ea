"""dfl-audio: publish the Depth First Learning audio interviews as a podcast."""

__version__ = "0.1.0"
