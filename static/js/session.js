/* Signed-in pages: warn before the idle sign-out, with a way to stay signed in.
 *
 * The server signs a person out after SESSION_IDLE_TIMEOUT without a request
 * (accounts.middleware.SessionLifetimeMiddleware). Reading or typing makes no request, so this
 * script keeps the same clock in the page: `warn_seconds` before the limit it opens the
 * warning (templates/includes/session_warning.html) with the focus on "Stay signed in", which
 * posts to the keep-alive address (with the CSRF token) and starts the clock again. Typing in
 * the page counts as activity too: at most every KEEP_ALIVE_EVERY it tells the server quietly.
 * Tabs share the time of the last activity through localStorage (a time, nothing typed), so a
 * person busy in one tab is not warned in another. When the limit passes, the page is loaded
 * again: the server signs the person out and shows the sign-in page, which leads back here;
 * what was typed is kept by forms.js. A static file: the CSP allows no inline script.
 */
(function () {
  "use strict";

  var dialog = document.getElementById("session-warning");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var idleMs = Number(dialog.getAttribute("data-idle-seconds")) * 1000;
  var warnMs = Number(dialog.getAttribute("data-warn-seconds")) * 1000;
  var keepAliveUrl = dialog.getAttribute("data-keep-alive-url");
  var countdown = dialog.querySelector("[data-session-countdown]");
  var stay = dialog.querySelector("[data-session-stay]");
  var token = dialog.querySelector("input[name='csrfmiddlewaretoken']");
  var SHARED = "mentoring-last-activity";
  var KEEP_ALIVE_EVERY = 5 * 60 * 1000;
  var TICK = 1000;

  var lastActivity = Date.now(); // the page's own request just now counted as activity
  var lastKeepAlive = lastActivity;
  var expired = false;

  function shared() {
    try {
      return Number(window.localStorage.getItem(SHARED)) || 0;
    } catch (e) {
      return 0;
    }
  }

  function share(time) {
    try {
      window.localStorage.setItem(SHARED, String(time));
    } catch (e) {
      /* storage refused (private mode): this tab keeps its own clock */
    }
  }

  function inWords(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    if (seconds > 90) {
      return "in " + Math.ceil(seconds / 60) + " minutes";
    }
    if (seconds > 1) {
      return "in " + seconds + " seconds";
    }
    return "now";
  }

  function signedOut() {
    // The server has signed the person out by now: load the page, which shows the sign-in
    // page and comes back here after it (a GET, never a form sent again).
    expired = true;
    window.location.assign(window.location.pathname + window.location.search);
  }

  function keepAlive() {
    var now = Date.now();
    lastKeepAlive = now;
    return window
      .fetch(keepAliveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "", "X-Requested-With": "fetch" },
      })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!response.ok || response.redirected || !json) {
          signedOut();
          return false;
        }
        lastActivity = now;
        share(now);
        return true;
      })
      .catch(function () {
        return false; // offline for a moment: the warning stays, the person can try again
      });
  }

  function open() {
    if (!dialog.open) {
      dialog.showModal();
      stay.focus();
    }
  }

  function close() {
    if (dialog.open) {
      dialog.close();
    }
  }

  function tick() {
    if (expired) {
      return;
    }
    var last = Math.max(lastActivity, shared());
    var left = idleMs - (Date.now() - last);
    if (left <= 0) {
      close();
      signedOut();
    } else if (left <= warnMs) {
      countdown.textContent = inWords(left);
      open();
    } else {
      close(); // another tab kept the session alive
    }
  }

  stay.addEventListener("click", function () {
    keepAlive().then(function (ok) {
      if (ok) {
        close();
      }
    });
  });
  // Escape closes the dialog without staying signed in: treat it as "Stay signed in" too, since
  // closing it is an answer that the person is here.
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();
    stay.click();
  });

  function activity() {
    if (dialog.open || expired) {
      return;
    }
    if (Date.now() - lastKeepAlive >= KEEP_ALIVE_EVERY) {
      keepAlive();
    }
  }
  ["keydown", "input", "pointerdown"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true, capture: true });
  });

  share(lastActivity);
  window.setInterval(tick, TICK);
})();
