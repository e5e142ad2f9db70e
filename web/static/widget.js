/*
 * campaign-listener: the featured-stories widget for campaign sites (see web/WIDGET.md).
 *
 *   <script src="https://listener.example.org/widget.js" data-campaign="lovelocal" data-lang="fr" async></script>
 *   <div id="listener-featured"></div>
 *
 * It reads /feed/featured.json from the origin it was loaded from and renders one card per story. Story
 * text and names are untrusted: they only ever reach the page through textContent (never innerHTML),
 * links are kept only when they are http(s), and they open in a new tab without an opener.
 * Self-contained on purpose: no dependency, no global left behind, no inline style (the host page's CSP
 * may forbid them); style the `lf-*` classes from the host page.
 */
(function () {
  "use strict";

  var LABELS = {
    en: { read: "Read the original post", empty: "No featured stories right now.", at: "at" },
    fr: { read: "Lire la publication d'origine", empty: "Aucune histoire à la une pour le moment.", at: "à" },
    ar: { read: "اقرأ المنشور الأصلي", empty: "لا توجد قصص مميزة حاليا.", at: "في" }
  };

  function ownScript() {
    if (document.currentScript) {
      return document.currentScript;
    }
    // Fallback for very old browsers: the last script whose address ends with /widget.js.
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(scripts[i].src || "")) {
        return scripts[i];
      }
    }
    return null;
  }

  var script = ownScript();
  if (!script || !script.src) {
    return;
  }
  var origin = new URL(script.src, document.baseURI).origin;
  var campaign = script.getAttribute("data-campaign") || "";
  var targetId = script.getAttribute("data-target") || "listener-featured";
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || "en").slice(0, 2).toLowerCase();
  if (!Object.prototype.hasOwnProperty.call(LABELS, lang)) {
    lang = "en";
  }
  var labels = LABELS[lang];

  function safeHref(value) {
    if (typeof value !== "string") {
      return null;
    }
    try {
      var url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function text(value) {
    return typeof value === "string" ? value : "";
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content) {
      node.textContent = content;
      node.setAttribute("dir", "auto");
    }
    return node;
  }

  function card(item) {
    var article = element("article", "lf-card");
    var quote = element("blockquote", "lf-text", text(item.text));
    if (/^[a-z]{2,3}$/.test(text(item.language))) {
      quote.setAttribute("lang", item.language);
    }
    article.appendChild(quote);

    var footer = element("footer", "lf-meta");
    if (text(item.author)) {
      footer.appendChild(element("span", "lf-author", text(item.author)));
    }
    if (text(item.merchant)) {
      var place = text(item.merchant) + (text(item.merchant_city) ? " · " + text(item.merchant_city) : "");
      footer.appendChild(element("span", "lf-merchant", place));
    }
    var posted = new Date(text(item.posted_at));
    if (!isNaN(posted.getTime())) {
      var time = element("time", "lf-date", posted.toLocaleDateString(lang));
      time.setAttribute("datetime", posted.toISOString());
      footer.appendChild(time);
    }
    var href = safeHref(item.url);
    if (href) {
      var link = element("a", "lf-link", labels.read);
      link.setAttribute("href", href);
      link.setAttribute("target", "_blank");
      link.setAttribute("rel", "noopener nofollow ugc");
      footer.appendChild(link);
    }
    article.appendChild(footer);
    return article;
  }

  function render(container, items) {
    while (container.firstChild) {
      container.removeChild(container.firstChild);
    }
    container.setAttribute("lang", lang);
    if (!items.length) {
      container.appendChild(element("p", "lf-empty", labels.empty));
      return;
    }
    var list = element("div", "lf-list");
    for (var i = 0; i < items.length; i++) {
      if (items[i] && typeof items[i] === "object") {
        list.appendChild(card(items[i]));
      }
    }
    container.appendChild(list);
  }

  function start() {
    var container = document.getElementById(targetId);
    if (!container) {
      return;
    }
    var url = new URL("/feed/featured.json", origin);
    if (campaign) {
      url.searchParams.set("campaign", campaign);
    }
    fetch(url.href, { mode: "cors", credentials: "omit" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        render(container, data && Array.isArray(data.items) ? data.items : []);
        container.setAttribute("data-state", "ready");
      })
      .catch(function (error) {
        // The host page keeps working; the reason is left where the site's developer will look.
        container.setAttribute("data-state", "error");
        if (window.console) {
          window.console.warn("listener widget: " + error.message);
        }
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
