// SoHoa Box web UI: small helpers every page may use, the area scripts (capture.js, pages.js...)
// included: csrfToken() and el() below are theirs too.
// No framework; every text from the server is put in with textContent, never as HTML.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A select marked data-submit-on-change sends its form at once (the language switch); its
// button stays in the page for browsers without JavaScript and is hidden once this runs.
document.documentElement.classList.add("js");
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-submit-on-change") && select.form) {
    select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
  }
});
