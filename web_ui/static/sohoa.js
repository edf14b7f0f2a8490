// SoHoa Box web UI: the capture screen's shutter, space bar and last shots. No framework; every
// text from the server is put in with textContent, never as HTML.
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

function renderRecent(list, pages, messages) {
  list.replaceChildren();
  if (!pages.length) { list.append(el("li", "muted", messages.none)); return; }
  for (const page of pages) {
    const item = el("li", page.flags.length ? "page flagged" : "page");
    const img = el("img");
    img.src = page.thumb; img.alt = ""; img.width = 120;
    item.append(img, el("span", "pos", page.docId + " · " + messages.page.replace("{n}", page.position)));
    for (const flag of page.flags) item.append(el("span", "flag", flag.text));
    list.append(item);
  }
}

function setupCapture(root) {
  const shutter = document.getElementById("shutter");
  const status = document.getElementById("shot-status");
  const list = document.getElementById("recent");
  const preview = document.getElementById("preview");
  const notice = document.getElementById("preview-message");
  const messages = { none: root.dataset.msgNone, page: root.dataset.msgPage,
                     busy: root.dataset.msgBusy, lost: root.dataset.msgLost };
  let busy = false;

  async function refresh() {
    try {
      const answer = await fetch(list.dataset.url, { headers: { Accept: "application/json" } });
      if (answer.ok) renderRecent(list, (await answer.json()).pages, messages);
    } catch (error) { /* the next poll tries again */ }
  }

  async function shoot() {
    if (busy || shutter.disabled) return;
    busy = true; shutter.classList.add("busy"); status.textContent = messages.busy;
    try {
      const answer = await fetch(shutter.dataset.url, {
        method: "POST", headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json",
                                   Accept: "application/json" }, body: "{}" });
      const body = await answer.json();
      if (answer.ok) {
        const page = body.pages[0];
        status.textContent = page ? page.docId + " · " + messages.page.replace("{n}", page.position) : "";
        status.className = page && page.flags.length ? "flash error" : "flash";
        if (page && page.flags.length) status.textContent += " – " + page.flags.map(f => f.text).join(", ");
      } else {
        status.textContent = body.message_vi || body.message; status.className = "flash error";
      }
    } catch (error) {
      status.textContent = messages.lost; status.className = "flash error";
    } finally {
      busy = false; shutter.classList.remove("busy"); refresh();
    }
  }

  shutter.addEventListener("click", shoot);
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(document.activeElement.tagName);
    if (event.code === "Space" && !typing && !event.repeat) { event.preventDefault(); shoot(); }
  });
  if (preview) {
    preview.addEventListener("error", () => { preview.hidden = true; notice.hidden = false;
                                              notice.textContent = root.dataset.msgNotRunning; });
  }
  refresh();
  setInterval(refresh, 3000);  // shots from a pedal or auto-capture show up too
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("capture");
  if (root) setupCapture(root);
});
