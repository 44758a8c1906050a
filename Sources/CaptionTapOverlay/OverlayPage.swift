/// The overlay page: one self-contained HTML file (inline CSS and JS, nothing fetched from
/// elsewhere) for an OBS Browser Source or any browser.
///
/// It connects to `ws://<same host>/captions`, shows the last `lines` finals with the current
/// partial taking the place of the oldest, and reconnects with backoff (0.5 s doubling to 5 s,
/// jittered) whenever the connection drops, e.g. while captiontap restarts. The background is
/// transparent; only the caption lines have one.
///
/// Styling comes from URL parameters, each checked and ignored when malformed:
/// `font` (a family name, falling back to sans-serif), `size` (px, 8–200, default 36),
/// `color` and `bg` (hex `rgb`, `rgba`, `rrggbb`, `rrggbbaa` or a CSS colour name; default `fff`
/// on `0009`), `lines` (1–20, default 2), `align` (`left`, `center`, `right`; default `center`),
/// `position` (`bottom` or `top`; default `bottom`). Text is only ever set as text, never as HTML.
public enum OverlayPage {
    public static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="captiontap overlay">
        <title>captiontap captions</title>
        <style>
        html, body { margin: 0; padding: 0; height: 100%; overflow: hidden; background: transparent; }
        #captions {
          position: fixed; left: 0; right: 0; bottom: 0; box-sizing: border-box; padding: 0.2em 3%;
          display: flex; flex-direction: column; align-items: center; text-align: center;
          font-family: sans-serif; font-size: 36px; color: #fff; line-height: 1.25;
        }
        #captions.top { top: 0; bottom: auto; }
        .line {
          max-width: 100%; margin: 0.08em 0; padding: 0.04em 0.35em; border-radius: 0.15em;
          box-sizing: border-box; white-space: pre-wrap; overflow-wrap: anywhere; background: rgba(0, 0, 0, 0.6);
        }
        .partial { opacity: 0.85; }
        </style>
        </head>
        <body data-state="connecting">
        <div id="captions" role="log" aria-live="polite"></div>
        <script>
        "use strict";
        (function () {
          var params = new URLSearchParams(location.search);
          function colour(value, fallback) {
            if (!value) return fallback;
            if (/^([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(value)) return "#" + value;
            if (/^[a-zA-Z]{3,30}$/.test(value)) return value;
            return fallback;
          }
          function integer(value, low, high, fallback) {
            var n = parseInt(value, 10);
            return isNaN(n) ? fallback : Math.min(high, Math.max(low, n));
          }
          var lines = integer(params.get("lines"), 1, 20, 2);
          var background = colour(params.get("bg"), "#0009");
          var box = document.getElementById("captions");
          var font = (params.get("font") || "").replace(/["\\<>;{}]/g, "").slice(0, 100);
          if (font) box.style.fontFamily = "\"" + font + "\", sans-serif";
          box.style.fontSize = integer(params.get("size"), 8, 200, 36) + "px";
          box.style.color = colour(params.get("color"), "#fff");
          var align = params.get("align");
          if (align === "left" || align === "right") {
            box.style.alignItems = align === "left" ? "flex-start" : "flex-end";
            box.style.textAlign = align;
          }
          if (params.get("position") === "top") box.className = "top";

          var finals = [];
          var partial = null;
          function render() {
            var keep = partial ? lines - 1 : lines;
            var shown = keep > 0 ? finals.slice(-keep) : [];
            var nodes = [];
            shown.forEach(function (text) { nodes.push(line(text, "line final")); });
            if (partial) nodes.push(line(partial.text, "line partial"));
            box.replaceChildren.apply(box, nodes);
          }
          function line(text, className) {
            var div = document.createElement("div");
            div.className = className;
            div.style.background = background;
            div.textContent = text;
            return div;
          }
          function receive(data) {
            var caption;
            try { caption = JSON.parse(data); } catch (e) { return; }
            if (!caption || typeof caption.text !== "string") return;
            if (caption.final) {
              if (partial && partial.item === caption.item_id) partial = null;
              if (caption.text) {
                finals.push(caption.text);
                if (finals.length > 20) finals.shift();
              }
            } else {
              if (caption.text) partial = { item: caption.item_id, text: caption.text };
              else if (partial && partial.item === caption.item_id) partial = null;
            }
            render();
          }

          var delay = 500;
          function connect() {
            var socket;
            document.body.setAttribute("data-state", "connecting");
            try {
              socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/captions");
            } catch (e) {
              retry();
              return;
            }
            socket.onopen = function () {
              delay = 500;
              finals = [];  // the server sends its backlog first
              partial = null;
              render();
              document.body.setAttribute("data-state", "open");
            };
            socket.onmessage = function (event) { receive(event.data); };
            socket.onclose = function () {
              document.body.setAttribute("data-state", "closed");
              retry();
            };
          }
          function retry() {
            setTimeout(connect, delay + Math.random() * 250);
            delay = Math.min(delay * 2, 5000);
          }
          connect();
        })();
        </script>
        </body>
        </html>
        """#
}
