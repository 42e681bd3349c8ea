/* dfl-audio player: enhances the episode page's native <audio> (see the site contract).
 * Without this file the page still has the audio element, chapter times and transcript. */
(function () {
  "use strict";

  /* The show page's "Copy" buttons (hidden without JS): copy the named field's text. */
  [].forEach.call(document.querySelectorAll("button.copy[data-copy]"), function (copy) {
    var field = document.getElementById(copy.getAttribute("data-copy"));
    if (!field) return;
    var label = copy.textContent;
    copy.hidden = false;
    copy.addEventListener("blur", function () { copy.textContent = label; });
    copy.addEventListener("click", function () {
      function done(text) { copy.textContent = text; } /* until focus moves on */
      function fallback() { field.focus(); field.select(); done("Press Ctrl+C"); }
      if (!navigator.clipboard) return fallback();
      navigator.clipboard.writeText(field.value).then(function () { done("Copied"); }, fallback);
    });
  });

  var audio = document.getElementById("player-audio");
  var section = audio && audio.closest(".player");
  if (!section) return;
  var article = section.closest("article") || document.body;
  var chapters = [].slice.call(article.querySelectorAll("li.chapter[data-start]"));
  var cues = [].slice.call(article.querySelectorAll("li.cue[data-start]"));
  var cueBox = article.querySelector("ol.cues");
  var SPEEDS = [1, 1.25, 1.5, 1.75, 2];
  var reduceMotion = window.matchMedia && matchMedia("(prefers-reduced-motion: reduce)").matches;
  var currentChapter = null;
  var currentCue = null;
  var userScrolledAt = -1e9;
  var sliderHeld = false; /* while the listener drags the slider, playback does not move it */

  function startOf(li) { return parseFloat(li.getAttribute("data-start")) || 0; }
  var chapterStarts = chapters.map(startOf);
  var cueStarts = cues.map(startOf);

  /* "1:02:03", "2:03", "123" or "123.5" in seconds; NaN when it is none of these. */
  function parseTime(text) {
    if (!/^\d+(\.\d+)?$|^\d+:\d{1,2}(\.\d+)?$|^\d+:\d{1,2}:\d{1,2}(\.\d+)?$/.test(text)) return NaN;
    return text.split(":").reduce(function (total, part) { return total * 60 + parseFloat(part); }, 0);
  }

  function formatTime(seconds) {
    seconds = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    var mm = h ? (m < 10 ? "0" : "") + m : String(m);
    return (h ? h + ":" : "") + mm + ":" + (s < 10 ? "0" : "") + s;
  }

  /* Podlove's deep link: #t=START or #t=START,END (the end is ignored). */
  function hashTime() {
    var match = /(?:^#|&)t=([^&,]+)/.exec(location.hash);
    return match ? parseTime(decodeURIComponent(match[1])) : NaN;
  }

  function duration() {
    return isFinite(audio.duration) && audio.duration > 0
      ? audio.duration : parseFloat(article.getAttribute("data-duration")) || 0;
  }

  /* Jump to ``seconds``; ``play`` starts playback, ``show`` scrolls the transcript to it. */
  function seek(seconds, play, show) {
    var end = duration();
    audio.currentTime = Math.max(0, end ? Math.min(seconds, end) : seconds);
    update();
    if (show) follow(null, currentCue, true);
    if (play) start();
  }

  function start() {
    var promise = audio.play();
    if (promise && promise.catch) promise.catch(function () { /* autoplay refused: stay paused */ });
  }

  function toggle() { if (audio.paused) start(); else audio.pause(); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    if (text) node.textContent = text;
    return node;
  }

  function button(cls, label, text, onClick) {
    var b = el("button", { type: "button", "class": cls, "aria-label": label }, text);
    b.addEventListener("click", onClick);
    return b;
  }

  /* The controls: play/pause, skips, a seek slider with the time, and the speed. */
  var controls = el("div", { "class": "player-controls", role: "group", "aria-label": "Playback" });
  var playButton = button("play", "Play", "Play", toggle);
  var back = button("skip back", "Back 15 seconds", "\u221215 s", function () {
    seek(audio.currentTime - 15, false, true);
  });
  var forward = button("skip forward", "Forward 30 seconds", "+30 s", function () {
    seek(audio.currentTime + 30, false, true);
  });
  var slider = el("input", { type: "range", "class": "seek", min: "0", step: "any", value: "0",
    "aria-label": "Position" });
  var clock = el("span", { "class": "clock" });
  var speedLabel = el("label", { "class": "speed" }, "Speed ");
  var speed = el("select", { "aria-label": "Playback speed" });
  SPEEDS.forEach(function (rate) { speed.appendChild(el("option", { value: rate }, rate + "\u00d7")); });
  speedLabel.appendChild(speed);
  var status = el("p", { "class": "player-status", role: "status" });
  [playButton, back, forward, slider, clock, speedLabel].forEach(function (node) {
    controls.appendChild(node);
  });
  section.insertBefore(controls, audio.nextSibling);
  section.insertBefore(status, controls.nextSibling);
  audio.removeAttribute("controls");
  article.classList.add("enhanced");

  slider.addEventListener("input", function () { seek(parseFloat(slider.value)); });
  slider.addEventListener("pointerdown", function () { sliderHeld = true; });
  ["pointerup", "pointercancel", "change"].forEach(function (name) {
    slider.addEventListener(name, function () { sliderHeld = false; });
  });
  speed.addEventListener("change", function () {
    audio.defaultPlaybackRate = audio.playbackRate = parseFloat(speed.value);
    try { localStorage.setItem("dfl-audio-speed", speed.value); } catch (e) { /* private mode */ }
  });
  try {
    var saved = localStorage.getItem("dfl-audio-speed");
    if (SPEEDS.indexOf(parseFloat(saved)) > 0) {
      speed.value = saved;
      audio.defaultPlaybackRate = audio.playbackRate = parseFloat(saved);
    }
  } catch (e) { /* storage refused: 1x */ }

  /* The last item whose start is at or before t (binary search: transcripts run long). */
  function indexAt(starts, t) {
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t + 0.05) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }

  function mark(previous, next, cls) {
    if (previous === next) return false;
    if (previous) { previous.removeAttribute("aria-current"); if (cls) previous.classList.remove(cls); }
    if (next) { next.setAttribute("aria-current", "true"); if (cls) next.classList.add(cls); }
    return true;
  }

  /* Is the node inside the box's visible part? Following resumes once the reader comes back. */
  function visibleIn(node, box) {
    var n = node.getBoundingClientRect(), b = box.getBoundingClientRect();
    return n.bottom > b.top && n.top < b.bottom;
  }

  /* Scroll the transcript box (never the page) to the new cue: after a jump (``jumped``), or
   * while the reader follows along (the previous cue in view, no scrolling of their own). */
  function follow(previous, next, jumped) {
    if (!next || !cueBox || cueBox.scrollHeight <= cueBox.clientHeight) return;
    if (!jumped && (Date.now() - userScrolledAt < 4000 || !previous
      || !visibleIn(previous, cueBox))) return;
    var top = next.offsetTop - cueBox.clientHeight / 3;
    cueBox.scrollTo({ top: Math.max(0, top), behavior: reduceMotion ? "auto" : "smooth" });
  }

  function update() {
    var t = audio.currentTime, end = duration(), total = formatTime(Math.round(end));
    slider.max = String(end || 0);
    if (!sliderHeld) slider.value = String(t);
    slider.setAttribute("aria-valuetext", formatTime(t) + " of " + total);
    clock.textContent = formatTime(t) + " / " + total;
    var chapter = chapters[indexAt(chapterStarts, t)] || null;
    if (mark(currentChapter, chapter)) currentChapter = chapter;
    var cue = cues[indexAt(cueStarts, t)] || null;
    var previous = currentCue;
    if (mark(previous, cue, "current")) {
      currentCue = cue;
      if (!audio.paused) follow(previous, cue);
    }
  }

  function showState() {
    var label = audio.paused ? "Play" : "Pause";
    playButton.textContent = label;
    playButton.setAttribute("aria-label", label);
    section.classList.toggle("playing", !audio.paused);
  }

  ["timeupdate", "seeked", "loadedmetadata", "durationchange"].forEach(function (name) {
    audio.addEventListener(name, update);
  });
  ["play", "pause", "ended"].forEach(function (name) { audio.addEventListener(name, showState); });
  function failed() {
    status.textContent = "The audio could not be loaded; the download link below still works.";
  }
  audio.addEventListener("error", failed);
  if (audio.error) failed(); /* it failed before this deferred script ran */

  /* A click on a chapter or a cue seeks there and plays; the #t= link stays shareable. */
  function seekOnClick(items) {
    items.forEach(function (li) {
      li.addEventListener("click", function (event) {
        var link = event.target.closest("a");
        if (link && !link.matches(".chapter-time, .cue-time")) return; /* links in titles */
        var selection = window.getSelection && getSelection();
        if (!link && selection && !selection.isCollapsed) return; /* selecting text to copy */
        if (link) {
          event.preventDefault();
          history.replaceState(null, "", link.getAttribute("href"));
        }
        seek(startOf(li), true, li.classList.contains("chapter"));
      });
    });
  }
  seekOnClick(chapters);
  seekOnClick(cues);

  if (cueBox) {
    ["wheel", "touchmove", "keydown"].forEach(function (name) {
      cueBox.addEventListener(name, function () { userScrolledAt = Date.now(); }, { passive: true });
    });
  }

  /* Keys while focus is in the player: k/space play-pause, j/left back, l/right forward. */
  section.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target, native = target.matches("button, select, input");
    var key = event.key;
    if (key === "k" || (key === " " && !native)) toggle();
    else if (key === "j" || (key === "ArrowLeft" && !target.matches("input, select"))) {
      seek(audio.currentTime - 15, false, true);
    } else if (key === "l" || (key === "ArrowRight" && !target.matches("input, select"))) {
      seek(audio.currentTime + 30, false, true);
    } else return;
    event.preventDefault();
  });

  function seekToHash() {
    var t = hashTime();
    if (isNaN(t)) return;
    if (audio.readyState >= 1) return seek(t, false, true);
    audio.currentTime = t; /* before the metadata: where playback will start */
    audio.addEventListener("loadedmetadata", function () { seek(t, false, true); }, { once: true });
  }
  window.addEventListener("hashchange", seekToHash);
  seekToHash();

  if ("mediaSession" in navigator) {
    try {
      navigator.mediaSession.setActionHandler("seekbackward", function () { seek(audio.currentTime - 15); });
      navigator.mediaSession.setActionHandler("seekforward", function () { seek(audio.currentTime + 30); });
    } catch (e) { /* an action this browser does not know */ }
  }
  showState();
  update();
})();
