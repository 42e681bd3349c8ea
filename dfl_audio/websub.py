"""WebSub: tell the show's hub that the feed changed, so apps subscribed there refresh now.

The feed names its hub with ``<atom:link rel="hub">`` (WebSub, W3C Recommendation §4);
a publisher then notifies the hub with a form-encoded POST of ``hub.mode=publish`` and
``hub.url=<feed URL>`` (the convention every public hub, e.g. pubsubhubbub.appspot.com,
accepts). The ping is a courtesy: apps still poll, so a hub that is down or slow costs one
warning, never a failed publish.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from dfl_audio.models.show import Show

log = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 5.0


def ping_hub(hub_url: str, feed_url: str, timeout: float = PING_TIMEOUT_SECONDS) -> str | None:
    """POST ``hub.mode=publish`` for ``feed_url`` to the hub; a warning line, or None if it
    answered 2xx."""
    import urllib.error  # only when pinging: most runs change no feed
    import urllib.request

    body = urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode("ascii")
    request = urllib.request.Request(
        hub_url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        return f"the WebSub hub {hub_url} refused the ping for {feed_url}: HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return f"could not ping the WebSub hub {hub_url} for {feed_url}: {reason}"
    if not 200 <= status < 300:
        return f"the WebSub hub {hub_url} answered HTTP {status} to the ping for {feed_url}"
    log.info("pinged the WebSub hub %s for %s", hub_url, feed_url)
    return None


def notify_hub(show: Show, feed_url: str, *, feed_changed: bool, dry_run: bool) -> None:
    """After a run: ping the show's hub when the stored feed really changed.

    Nothing to do without ``websub_hub``, after a dry run, or when the feed is unchanged
    (a hub re-fetches the feed on every ping; pinging for nothing wastes its work).
    """
    if show.websub_hub is None or dry_run or not feed_changed:
        return
    warning = ping_hub(show.websub_hub, feed_url)
    if warning is not None:
        log.warning(warning)
