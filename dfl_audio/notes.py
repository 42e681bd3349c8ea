"""Show notes: the Markdown body of an episode file, as HTML and as plain text.

``content:encoded`` gets the HTML (raw HTML in the Markdown is escaped, as podcast apps
show only a few tags); ``description`` gets plain text, which every client can show: raw
HTML there is dropped (its tags, and scripts and styles whole), never passed on as text.

Both end with the chapter list, one ``MM:SS Title`` line per chapter (``HH:MM:SS`` once an
episode runs past an hour): a timestamp at the start of a line is what Apple Podcasts,
Overcast, Pocket Casts and AntennaPod turn into a link that seeks there.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dfl_audio.models.episode import Chapter, Link

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


@functools.cache
def _markdown(*, raw_html: bool) -> MarkdownIt:
    """CommonMark, made on first use: a run whose episode files all come from the parse
    cache renders no notes and need not import markdown-it. HTML output leaves raw HTML
    out; for plain text, raw HTML must be recognised as HTML (``raw_html``) to be left out."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": raw_html, "typographer": False})


_SCRIPT_OPEN = re.compile(r"<(script|style)\b", re.I)
_SCRIPT_CLOSE = re.compile(r"</(script|style)\s*>", re.I)
_UNSEEN = ("script", "style", "template", "textarea", "title")  # raw text, not page text

_BLOCK_ENDS = {"paragraph_close": "\n\n", "heading_close": "\n\n", "bullet_list_close": "\n"}


def render_html(markdown: str, links: Sequence[Link] = ()) -> str:
    """Markdown to HTML, with the episode's curriculum links listed at the end.

    >>> render_html("Hi *there* & <you>")
    '<p>Hi <em>there</em> &amp; &lt;you&gt;</p>\\n'
    """
    html = str(_markdown(raw_html=False).render(markdown))
    if links:
        html += _markdown(raw_html=False).render("Links:\n\n" + _links_markdown(links))
    return html


def render_text(markdown: str, links: Sequence[Link] = ()) -> str:
    """Markdown to plain text; a link's URL follows its text so plain-text clients keep it.

    >>> render_text("See [the paper](https://arxiv.org/abs/1) now.\\n\\n- one\\n- two")
    'See the paper (https://arxiv.org/abs/1) now.\\n\\n- one\\n- two'
    >>> render_text("Hi <b>you</b> <img src=x onerror=alert(1)><script>alert(2)</script>")
    'Hi you'
    """
    source = markdown + ("\n\nLinks:\n\n" + _links_markdown(links) if links else "")
    out: list[str] = []
    for token in _markdown(raw_html=True).parse(source):
        out.append(_block_text(token))
    text = "".join(out)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def with_chapters_html(notes_html: str, chapters: Sequence[Chapter]) -> str:
    """The HTML notes followed by the chapter list (titles linked to their ``url``).

    >>> print(with_chapters_html("<p>Hi</p>\\n", [Chapter(start=75.9, title="A & B")]), end="")
    <p>Hi</p>
    <p>Chapters:</p>
    <ul>
    <li>01:15 A &amp; B</li>
    </ul>
    """
    if not chapters:
        return notes_html
    lines = [f"<li>{stamp} {_chapter_html(chapter)}</li>" for stamp, chapter in _stamped(chapters)]
    listing = "<p>Chapters:</p>\n<ul>\n" + "\n".join(lines) + "\n</ul>\n"
    return (
        notes_html + listing
        if not notes_html or notes_html.endswith("\n")
        else (notes_html + "\n" + listing)
    )


def with_chapters_text(notes_text: str, chapters: Sequence[Chapter]) -> str:
    """The plain-text notes followed by the chapter list, a chapter's URL after its title.

    >>> print(with_chapters_text("Hi", [Chapter(start=0, title="Hello"),
    ...     Chapter(start=3723, title="Work", url="https://example.org/")]))
    Hi
    <BLANKLINE>
    Chapters:
    00:00:00 Hello
    01:02:03 Work (https://example.org/)
    """
    if not chapters:
        return notes_text
    lines = [
        f"{stamp} {chapter.title}" + (f" ({chapter.url})" if chapter.url else "")
        for stamp, chapter in _stamped(chapters)
    ]
    listing = "Chapters:\n" + "\n".join(lines)
    return f"{notes_text}\n\n{listing}" if notes_text else listing


def _stamped(chapters: Sequence[Chapter]) -> list[tuple[str, Chapter]]:
    """Each chapter with its start as apps read it; all in one width, rounded down (a tap
    lands at or just before the chapter, never after its first words)."""
    hours = max(chapter.start for chapter in chapters) >= 3600
    return [(_clock(chapter.start, hours), chapter) for chapter in chapters]


def _clock(seconds: float, hours: bool) -> str:
    """``MM:SS`` or ``HH:MM:SS``.

    >>> _clock(59.99, False), _clock(3723.5, True)
    ('00:59', '01:02:03')
    """
    whole = int(seconds)
    minutes, secs = divmod(whole, 60)
    if hours:
        return f"{minutes // 60:02d}:{minutes % 60:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def _chapter_html(chapter: Chapter) -> str:
    title = html.escape(chapter.title, quote=False)
    if chapter.url is None:
        return title
    return f'<a href="{html.escape(chapter.url)}">{title}</a>'


def _links_markdown(links: Sequence[Link]) -> str:
    return "\n".join(f"- [{_escape_md(link.title)}]({link.url})" for link in links)


def _escape_md(text: str) -> str:
    return "".join("\\" + char if char in "[]\\*_`<>" else char for char in text)


def _block_text(token: Token) -> str:
    if token.type == "inline":
        return _inline_text(token.children or [])
    if token.type == "list_item_open":
        return "- "
    if token.type in ("code_block", "fence"):
        return token.content + "\n"
    if token.type == "html_block":
        text = _html_text(token.content)
        return text + "\n\n" if text else ""
    if token.type == "paragraph_close" and token.hidden:
        return "\n"  # a tight list's item: one line each
    if token.type == "list_item_close":
        return ""
    return _BLOCK_ENDS.get(token.type, "")


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    href_stack: list[str] = []
    in_script = dropped = False
    for child in children:
        if child.type == "html_inline":  # a tag: left out, and a script's or style's body too
            dropped = True
            in_script = bool(_SCRIPT_OPEN.match(child.content)) or (
                in_script and not _SCRIPT_CLOSE.match(child.content)
            )
        elif in_script:
            continue
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n" if child.type == "hardbreak" else " ")
        elif child.type == "link_open":
            href_stack.append(str(child.attrs.get("href", "")))
        elif child.type == "link_close" and href_stack:
            href = href_stack.pop()
            parts.append(f" ({href})" if href and href not in "".join(parts[-1:]) else "")
        elif child.type == "image":
            parts.append(child.content)
    text = "".join(parts)
    return re.sub(r"  +", " ", text) if dropped else text  # "a <b>x</b> c" → "a x c"


def _html_text(html: str) -> str:
    """The text a reader would see in a block of raw HTML; scripts and styles say nothing."""
    import lxml.html  # only for notes with raw HTML blocks: keeps validate's start-up short
    from lxml import etree

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):  # a lone doctype or comment: nothing to read
        return ""
    for element in list(root.iter(*_UNSEEN)):
        element.drop_tree()
    return " ".join(str(root.text_content()).split())
