// errorbudget dashboard: auto-refresh, and the approve/reject forms of the changes page.
// Plain JavaScript, no framework, no network access other than this server.
(function () {
  "use strict";

  var TOKEN_KEY = "errorbudget.apiToken";
  var PAUSE_KEY = "errorbudget.refreshPaused";

  // --- auto-refresh ----------------------------------------------------------------------
  // Reload every data-refresh seconds (0: never), but never while someone is typing into a
  // form: a comment half written is worth more than fresh figures.
  function busy() {
    var active = document.activeElement;
    if (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    var fields = document.querySelectorAll("form textarea, form input[type=text]");
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].hasAttribute("data-persistent") && fields[i].value.trim() !== "") return true;
    }
    return false;
  }

  function startRefresh() {
    var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
    var label = document.getElementById("refresh-status");
    var toggle = document.getElementById("refresh-toggle");
    if (!seconds || !label || !toggle) return;
    var paused = window.localStorage.getItem(PAUSE_KEY) === "1";
    var left = seconds;
    toggle.hidden = false;

    function show() {
      if (paused) label.textContent = "auto-refresh paused";
      else if (busy()) label.textContent = "refresh waits while you type";
      else label.textContent = "refresh in " + left + " s";
      toggle.textContent = paused ? "resume" : "pause";
    }
    toggle.addEventListener("click", function () {
      paused = !paused;
      window.localStorage.setItem(PAUSE_KEY, paused ? "1" : "0");
      left = seconds;
      show();
    });
    window.setInterval(function () {
      if (!paused && !busy()) {
        left -= 1;
        if (left <= 0) {
          window.location.reload();
          return;
        }
      }
      show();
    }, 1000);
    show();
  }

  // --- API token ---------------------------------------------------------------------------
  // The token is kept in this browser only: in localStorage, sent as a Bearer header with
  // approvals and submissions, and in a SameSite=Strict cookie that the server accepts for
  // reading pages (never for writing).
  var COOKIE = "errorbudget_token";

  function saveToken(token) {
    if (token) {
      window.localStorage.setItem(TOKEN_KEY, token);
      document.cookie = COOKIE + "=" + encodeURIComponent(token) + "; Path=/; SameSite=Strict";
    } else {
      window.localStorage.removeItem(TOKEN_KEY);
      document.cookie = COOKIE + "=; Path=/; SameSite=Strict; Max-Age=0";
    }
  }

  function startToken() {
    var input = document.getElementById("api-token");
    if (!input) return;
    input.value = window.localStorage.getItem(TOKEN_KEY) || "";
    var status = document.getElementById("api-token-status");
    function show() {
      if (status) status.textContent = input.value ? "saved in this browser" : "no token saved";
    }
    input.addEventListener("change", function () {
      saveToken(input.value.trim());
      show();
    });
    var forget = document.getElementById("api-token-forget");
    if (forget) {
      forget.addEventListener("click", function () {
        saveToken("");
        input.value = "";
        show();
      });
    }
    show();
  }

  // --- forms that call the API --------------------------------------------------------------
  function labels(text) {
    var found = {};
    text.split(",").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at > 0) found[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    });
    return found;
  }

  function body(form, verdict) {
    if (form.getAttribute("data-api-kind") !== "change") {
      var comment = form.querySelector("textarea");
      return { comment: comment ? comment.value : "" };
    }
    var data = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && field.value.trim() !== "") data[field.name] = field.value.trim();
    });
    if (data.slos) data.slos = data.slos.split(",").map(function (s) { return s.trim(); });
    if (data.segment) data.segment = labels(data.segment);
    return data;
  }

  function startForms() {
    var forms = document.querySelectorAll("form[data-api-url]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = event.submitter || form.querySelector("button[type=submit]");
        var verdict = button && button.value ? button.value : "";
        var result = form.querySelector(".form-result") || form.parentNode.querySelector(".form-result");
        var token = window.localStorage.getItem(TOKEN_KEY) || "";
        var url = form.getAttribute("data-api-url").replace("{verdict}", verdict);
        var headers = { "Content-Type": "application/json", "Accept": "application/json" };
        if (token) headers["Authorization"] = "Bearer " + token;
        result.className = "form-result";
        result.textContent = "sending…";
        window.fetch(url, {
          method: "POST",
          headers: headers,
          body: JSON.stringify(body(form, verdict)),
        }).then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (answer) {
            if (!response.ok) {
              var detail = answer && answer.detail;
              if (detail && typeof detail !== "string") detail = JSON.stringify(detail);
              throw new Error(detail || response.status + " " + response.statusText);
            }
            return answer;
          });
        }).then(function () {
          form.reset();
          result.textContent = "done";
          window.location.reload();
        }).catch(function (error) {
          result.className = "form-result error";
          result.textContent = error.message;
        });
      });
    });
  }

  // The sign-in page's "Continue": a listener, not an inline onclick, which the
  // Content-Security-Policy (script-src 'self') refuses.
  function startSignIn() {
    var button = document.getElementById("sign-in-continue");
    if (!button) return;
    button.addEventListener("click", function () {
      window.location.reload();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startRefresh();
    startToken();
    startForms();
    startSignIn();
  });
})();
