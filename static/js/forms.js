/* Form pages: put the eye on the error summary, keep the address of the page, and keep what
 * was typed in notes, reflections and survey answers.
 *
 * A refused form comes back with one error summary (templates/includes/error_summary.html),
 * which may sit far above or below where the person was. Focus it, so it is scrolled into view
 * and read out first. When the form was posted to an address of its own (for example
 * /meetings/availability/slots/add/), put the page's address back, so that reloading or
 * bookmarking shows the page instead of asking to send the form again.
 *
 * Drafts: a form marked data-keep-draft (a confidential note, a meeting's log and reflection,
 * a survey's answers) is copied as it is typed into this tab's sessionStorage, keyed by person,
 * page and form, so that a sign-out by the idle timeout (session.js) loses nothing: after
 * signing in again the page comes back with the text in it. sessionStorage, not localStorage:
 * notes are confidential, and it lives only as long as the tab, is never shared with another
 * tab and is never sent anywhere. A draft is removed once its form was sent and accepted (the
 * next signed-in page shows no error), when its person signs out with the button, and when
 * someone else signs in in the tab.
 * A static file: the Content-Security-Policy allows no inline script.
 */
(function () {
  "use strict";

  function focusSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) {
      return;
    }
    var pageUrl = summary.getAttribute("data-page-url");
    if (pageUrl && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", pageUrl);
    }
    // Focusing scrolls it into view only if it is not in view already (it is at the top).
    summary.focus();
  }

  // A link in the summary moves focus to its field (an in-page link alone only scrolls in
  // some browsers), and shows the field's label with it.
  function followSummaryLinks(event) {
    var link = event.target.closest ? event.target.closest("[data-error-summary] a[href^='#']") : null;
    if (!link) {
      return;
    }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field || !/^(INPUT|SELECT|TEXTAREA)$/.test(field.tagName)) {
      return; // a group of questions, say: the link's own jump is right
    }
    event.preventDefault();
    var label = document.querySelector("label[for='" + field.id + "']") || field;
    label.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  }

  // --- Drafts ----------------------------------------------------------------------------
  var DRAFT = "mentoring-draft:";
  var SENT = "mentoring-draft-sent";
  var KEPT = { text: 1, textarea: 1, number: 1, date: 1, time: 1, url: 1, email: 1, radio: 1, checkbox: 1 };

  function storage() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null; // storage refused: forms work, without drafts
    }
  }

  function signedInUser() {
    var session = document.getElementById("session-warning");
    return session ? session.getAttribute("data-user") : null;
  }

  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      var type = el.tagName === "TEXTAREA" ? "textarea" : (el.type || "").toLowerCase();
      return el.name && el.name !== "csrfmiddlewaretoken" && !el.disabled && KEPT[type];
    });
  }

  function readForm(form) {
    var values = {};
    draftFields(form).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") {
        values[el.name] = values[el.name] || [];
        if (el.checked) {
          values[el.name].push(el.value);
        }
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  function fillForm(form, values) {
    var changed = false;
    draftFields(form).forEach(function (el) {
      if (!Object.prototype.hasOwnProperty.call(values, el.name)) {
        return;
      }
      var value = values[el.name];
      if (el.type === "radio" || el.type === "checkbox") {
        var checked = value.indexOf(el.value) !== -1;
        changed = changed || checked !== el.checked;
        el.checked = checked;
      } else if (el.value !== value) {
        el.value = value;
        changed = true;
      }
    });
    return changed;
  }

  function removeDrafts(store, keep) {
    for (var i = store.length - 1; i >= 0; i--) {
      var key = store.key(i);
      if (key && key.indexOf(DRAFT) === 0 && !(keep && key.indexOf(keep) === 0)) {
        store.removeItem(key);
      }
    }
  }

  function restoredNotice(form, store, key) {
    var notice = document.createElement("div");
    notice.className = "message draft-notice";
    notice.setAttribute("role", "status");
    var text = document.createElement("p");
    text.textContent =
      "What you had typed on this page is back in the form (kept in this browser tab). It is not saved until you send the form.";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button--quiet";
    discard.textContent = "Discard what was kept";
    discard.addEventListener("click", function () {
      store.removeItem(key);
      form.reset();
      notice.remove();
    });
    notice.appendChild(text);
    notice.appendChild(discard);
    form.insertBefore(notice, form.firstChild);
  }

  function keepDrafts() {
    var store = storage();
    if (!store) {
      return;
    }
    var user = signedInUser();
    var sent = store.getItem(SENT);
    if (!user) {
      // Signed out (the sign-in page): a form sent just now never reached its page, so its
      // draft stays for when the person is back.
      store.removeItem(SENT);
      return;
    }
    removeDrafts(store, DRAFT + user + ":"); // someone else's, if another person signs in here
    var refused = document.querySelector("[data-error-summary], [role='alert']");
    if (sent) {
      store.removeItem(SENT);
      if (!refused) {
        store.removeItem(sent); // sent and accepted
      }
    }
    var forms = document.querySelectorAll("form[data-keep-draft]");
    Array.prototype.forEach.call(forms, function (form) {
      var key = DRAFT + user + ":" + window.location.pathname + ":" + form.getAttribute("data-keep-draft");
      var kept = store.getItem(key);
      // A refused form shows what was sent; otherwise bring back what was typed.
      if (kept && !refused) {
        try {
          if (fillForm(form, JSON.parse(kept))) {
            restoredNotice(form, store, key);
          }
        } catch (e) {
          store.removeItem(key);
        }
      }
      var save = function () {
        store.setItem(key, JSON.stringify(readForm(form)));
      };
      form.addEventListener("input", save);
      form.addEventListener("change", save);
      form.addEventListener("submit", function () {
        save();
        store.setItem(SENT, key);
      });
    });
    // Signing out with the button removes every draft of this tab.
    var session = document.getElementById("session-warning");
    var signOut = session ? session.getAttribute("data-sign-out-url") : null;
    document.addEventListener("submit", function (event) {
      var action = event.target.getAttribute("action");
      if (signOut && action === signOut) {
        removeDrafts(store, null);
        store.removeItem(SENT);
      }
    }, true);
  }

  function start() {
    keepDrafts();
    focusSummary();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  document.addEventListener("click", followSummaryLinks);
})();
