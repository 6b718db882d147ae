// judge view: keyboard shortcuts for labelling and auto-submitting filter menus.
// Served as a file (the Content-Security-Policy allows no inline script); no network, no eval.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
  }

  function filters() {
    document.querySelectorAll("form.filters select").forEach(function (el) {
      el.addEventListener("change", function () {
        el.form.submit();
      });
    });
  }

  function labelling() {
    var form = document.getElementById("label-form");
    if (!form) {
      return;
    }
    var sent = false;
    form.addEventListener("submit", function (ev) {
      if (sent) {
        ev.preventDefault();
      }
      sent = true;
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target) || sent) {
        return;
      }
      var key = ev.key.toLowerCase();
      var button = form.querySelector('button[data-key="' + key + '"]');
      if (button) {
        ev.preventDefault();
        button.click();
        return;
      }
      if (key === "s") {
        var skip = document.getElementById("skip");
        if (skip) {
          ev.preventDefault();
          sent = true;
          window.location.assign(skip.getAttribute("href"));
        }
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    filters();
    labelling();
  });
})();
