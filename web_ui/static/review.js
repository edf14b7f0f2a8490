// SoHoa Box review screen: ← / → change page, Ctrl+Enter saves the text, a doubtful word and its
// box on the image light up together, and unsaved corrections are not lost by leaving.
"use strict";

function typingIn(node) {
  return node && (["INPUT", "SELECT", "TEXTAREA"].includes(node.tagName) || node.isContentEditable);
}

function linkWordsAndBoxes(root) {
  const light = (index, on) => {
    for (const node of root.querySelectorAll('[data-word="' + index + '"]')) node.classList.toggle("active", on);
  };
  for (const word of root.querySelectorAll("mark.low-word")) {
    word.addEventListener("mouseenter", () => light(word.dataset.word, true));
    word.addEventListener("mouseleave", () => light(word.dataset.word, false));
    word.addEventListener("click", () => light(word.dataset.word, !word.classList.contains("active")));
  }
}

function setupReview(root) {
  const text = document.getElementById("review-text");
  const form = document.getElementById("review-correct");
  let dirty = Boolean(document.getElementById("review-error"));  // a refused save's text is unsaved
  if (text && !text.readOnly) {
    text.addEventListener("input", () => { dirty = true; });
    form.addEventListener("submit", () => { dirty = false; });
    window.addEventListener("beforeunload", (event) => { if (dirty) event.preventDefault(); });
  }
  document.addEventListener("keydown", (event) => {
    if (event.target === text && event.key === "Enter" && (event.ctrlKey || event.metaKey)
        && !text.readOnly) {
      event.preventDefault(); form.requestSubmit(); return;
    }
    if (typingIn(document.activeElement) || event.altKey || event.ctrlKey || event.metaKey) return;
    const id = { ArrowLeft: "review-prev", ArrowRight: "review-next" }[event.key];
    const link = id && document.getElementById(id);
    if (link && link.href) { event.preventDefault(); window.location.assign(link.href); }
  });
  linkWordsAndBoxes(root);
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("review");
  if (root) setupReview(root);
});
