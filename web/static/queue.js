/*
 * The queue page's keyboard shortcuts and "select all" (progressive enhancement: without this script the
 * filters and the bulk form work exactly the same, with the mouse or the Tab key).
 *
 *   j / k  next / previous story        x  tick or untick it        a  tick or untick every story
 *   o      open the story               s  shortlist the ticked stories (or the current one)
 *   r      reject: the reason field takes the focus, Enter sends   e  archive
 *
 * Loaded from /static (the Content-Security-Policy allows no inline script). Shortcuts are ignored while
 * typing in a field and with Ctrl, Alt or Meta held, so the browser's own shortcuts keep working.
 */
(function () {
  "use strict";

  var form = document.getElementById("bulk");
  if (!form) {
    return;
  }
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr.story"));
  var action = document.getElementById("b-action");
  var reason = document.getElementById("b-reason");
  var all = document.getElementById("select-all");
  var help = document.getElementById("shortcuts");
  var current = -1;

  if (help) {
    help.hidden = false;
  }

  function boxes() {
    return Array.prototype.slice.call(form.querySelectorAll('input[name="ids"]'));
  }

  function ticked() {
    return boxes().filter(function (box) { return box.checked; });
  }

  function boxOf(row) {
    return row.querySelector('input[name="ids"]');
  }

  function syncAll() {
    if (!all) {
      return;
    }
    var count = ticked().length;
    var total = boxes().length;
    all.checked = total > 0 && count === total;
    all.indeterminate = count > 0 && count < total;
  }

  function setAll(checked) {
    boxes().forEach(function (box) { box.checked = checked; });
    syncAll();
  }

  if (all && rows.length) {
    all.hidden = false;
    all.addEventListener("change", function () { setAll(all.checked); });
  }
  form.addEventListener("change", function (event) {
    if (event.target !== all) {
      syncAll();
    }
  });

  function show(index) {
    if (!rows.length) {
      return;
    }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, n) { row.classList.toggle("current", n === current); });
    var box = boxOf(rows[current]);
    if (box) {
      box.focus();
    }
    rows[current].scrollIntoView({ block: "nearest" });
  }

  rows.forEach(function (row, n) {
    row.addEventListener("focusin", function () {
      current = n;
      rows.forEach(function (other, m) { other.classList.toggle("current", m === n); });
    });
  });

  function act(name) {
    if (!ticked().length && current >= 0) {
      boxOf(rows[current]).checked = true;
      syncAll();
    }
    if (!ticked().length) {
      return;
    }
    action.value = name;
    if (name === "reject" && !reason.value.trim()) {
      reason.focus();
      return;
    }
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  // A rejection needs a reason: say so here before the server does.
  form.addEventListener("submit", function (event) {
    if (action.value === "reject" && !reason.value.trim()) {
      event.preventDefault();
      reason.required = true;
      reason.reportValidity();
    }
  });

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName;
    if (tag === "INPUT") {
      return target.type !== "checkbox";
    }
    return tag === "SELECT" || tag === "TEXTAREA" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    switch (event.key) {
      case "j":
        show(current + 1);
        break;
      case "k":
        show(current - 1);
        break;
      case "x":
        if (current < 0) {
          show(0);
        }
        if (current >= 0) {
          var box = boxOf(rows[current]);
          box.checked = !box.checked;
          syncAll();
        }
        break;
      case "a":
        setAll(ticked().length !== boxes().length);
        break;
      case "o":
        if (current >= 0) {
          var link = rows[current].querySelector("a.story-link");
          if (link) {
            window.location.assign(link.href);
          }
        }
        break;
      case "s":
        act("shortlist");
        break;
      case "r":
        act("reject");
        break;
      case "e":
        act("archive");
        break;
      default:
        return;
    }
    event.preventDefault();
  });
})();
