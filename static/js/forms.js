/* Form pages: put the eye on the error summary, and keep the address of the page.
 *
 * A refused form comes back with one error summary (templates/includes/error_summary.html),
 * which may sit far above or below where the person was. Focus it, so it is scrolled into view
 * and read out first. When the form was posted to an address of its own (for example
 * /meetings/availability/slots/add/), put the page's address back, so that reloading or
 * bookmarking shows the page instead of asking to send the form again.
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
    if (!field) {
      return;
    }
    event.preventDefault();
    var label = document.querySelector("label[for='" + field.id + "']") || field;
    label.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
  document.addEventListener("click", followSummaryLinks);
})();
