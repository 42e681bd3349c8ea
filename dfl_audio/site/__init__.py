"""The show's website: a static site published with the feed, from the same files.

One page per published episode (``episodes/<slug>.html``), a show page (``index.html``), a
``sitemap.xml`` and two content-addressed assets (the player's JS and CSS), all rendered by
Jinja2 templates from the models (:mod:`.render`, pure), gathered by :mod:`.build` and stored
next to the feed, before it, by :mod:`.store`. The markup the player relies on is fixed in
``/work/notes/site-contract.md``.
"""
