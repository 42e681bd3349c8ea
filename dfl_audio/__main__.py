"""Allow ``python -m dfl_audio``."""

from dfl_audio.cli import main

main()
