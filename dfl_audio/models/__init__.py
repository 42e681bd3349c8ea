"""Pure data: the show and its episodes, as the editor writes them.

These pydantic models are the schema of the human-edited files (``episodes/show.yaml`` and
the front matter of ``episodes/*.md``): unknown fields are refused, types are checked, and
each rule lives next to the field it is about. Cross-file rules (files exist, duplicates,
artwork size) live in :mod:`dfl_audio.validate`.

Split by what a reader looks for: :mod:`.fields` (the value rules and field types both files
share, and the strict base model), :mod:`.show` (``show.yaml``) and :mod:`.episode` (an
episode's front matter, and the episode as read).
"""
