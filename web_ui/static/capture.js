// SoHoa Box capture screen: shutter and keys (Space, R, N, A, Esc), retakes, the auto-capture
// switch, the target with its page counts and the last shots (polled, so shots from the pedal or
// auto-capture show up too). No framework; server texts go in with textContent, never as HTML.
// csrfToken() and el() are sohoa.js's (base.html loads it first; both are deferred, in order).
(function () {
  "use strict";

  function fill(template, fields) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in fields ? String(fields[key]) : whole));
  }

  // Keys do nothing while the operator types or chooses in a form field.
  function typing() {
    const active = document.activeElement;
    return !!active && (["INPUT", "SELECT", "TEXTAREA"].includes(active.tagName) || active.isContentEditable);
  }

  function setupCapture(root) {
    const msg = root.dataset;
    const byId = (id) => document.getElementById(id);
    const shutter = byId("shutter"), status = byId("shot-status"), list = byId("recent");
    const auto = byId("auto-toggle"), banner = byId("retake-banner"), bannerText = byId("retake-text");
    const preview = byId("preview"), notice = byId("preview-message");
    const newDocument = byId("new-document-form");
    let busy = false;
    let pages = [];  // the last shots, newest first, as recent.json gives them
    let armed = banner.dataset.pageId ? { page: Number(banner.dataset.pageId),
      position: banner.dataset.position, docId: banner.dataset.docId } : null;

    function say(text, state) {
      status.textContent = text;
      status.dataset.state = state;
      status.className = state === "error" || state === "flagged" ? "flash error" : (text ? "flash" : "");
    }

    // The armed retake lives in the capture service, so the pedal and auto-capture take it too;
    // the banner shows what the service holds (renderArmed), after each change and each poll.
    function renderArmed(page) {
      armed = page ? { page: page.page, position: page.position, docId: page.docId } : null;
      banner.dataset.pageId = page ? String(page.page) : "";
      banner.dataset.position = page ? String(page.position) : "";
      banner.dataset.docId = page ? page.docId : "";
      bannerText.textContent = page ? fill(msg.msgRetakeArmed, { position: page.position, doc: page.docId }) : "";
      banner.hidden = !page;
      const wanted = page ? location.pathname + "?retake=" + page.page : location.pathname;
      if (location.pathname + location.search !== wanted) history.replaceState(null, "", wanted);
      markArmed();
    }

    // Shown at once (a Space pressed right after the click must already shoot the retake),
    // then set to what the service answered; an answer or poll overtaken by a newer change is
    // not shown.
    let changes = 0;
    let arming = Promise.resolve();  // a shot waits for it: the service must see the arm first
    function setArmed(page) {
      arming = sendArmed(page);
      return arming;
    }

    async function sendArmed(page) {
      const mine = ++changes;
      renderArmed(page);
      try {
        const answer = await post(msg.retakeUrl, { page: page ? page.page : null });
        if (!answer.ok) say(answer.body.message_vi || answer.body.message, "error");
        if (mine === changes) renderArmed(answer.ok ? answer.body.retake : null);
      } catch (error) { say(msg.msgLost, "error"); }
    }

    const arm = (page) => setArmed(page);
    const disarm = () => { if (armed) setArmed(null); };

    function markArmed() {
      for (const item of list.children) {
        item.classList.toggle("armed", !!armed && item.dataset.pageId === String(armed.page));
      }
    }

    function shotItem(page) {
      const item = el("li", page.flags.length ? "shot flagged" : "shot");
      item.dataset.pageId = String(page.page);
      item.dataset.position = String(page.position);
      item.dataset.flagged = page.flags.length ? "yes" : "no";
      const img = el("img");
      img.src = page.thumb; img.alt = ""; img.loading = "lazy";
      // A short label ("TL 1 · trang 3"); the full document id, which does not fit a tile
      // without breaking mid-id, is in the tile's tooltip.
      const seq = String(page.docId).split(".").pop();
      const label = el("span", "pos", fill(msg.msgShotLabel, { seq: seq, position: page.position }));
      item.title = page.docId;
      item.append(img, label);
      for (const flag of page.flags) {
        const mark = el("span", "flag", flag.text);
        mark.dataset.key = flag.key;
        item.append(mark);
      }
      if (page.state === "new") item.append(el("span", "muted", msg.msgProcessing));
      const again = el("button", "retake", msg.msgRetake);
      again.type = "button";
      again.dataset.pageId = String(page.page);
      again.dataset.retake = "";
      again.title = fill(msg.msgRetakeTitle, { position: page.position, doc: page.docId });
      again.addEventListener("click", () => { arm(page); again.blur(); });
      item.append(again);
      return item;
    }

    function renderRecent(shown) {
      pages = shown;
      list.replaceChildren();
      if (!shown.length) { list.append(el("li", "muted", msg.msgNone)); return; }
      for (const page of shown) list.append(shotItem(page));
      markArmed();
    }

    function renderTarget(target, counts) {
      const text = byId("target-text");
      text.replaceChildren();
      if (!target) { text.textContent = msg.msgNoTarget; } else {
        text.append(el("strong", "", target.docId || target.dossier));
        let rest = target.document ? "" : " (" + msg.msgNewDocument + ")";
        if (target.next_position) rest += " · " + fill(msg.msgNextPage, { n: target.next_position });
        text.append(document.createTextNode(rest));
      }
      const documentCount = byId("count-document"), dossierCount = byId("count-dossier");
      documentCount.dataset.count = counts ? String(counts.document) : "";
      dossierCount.dataset.count = counts ? String(counts.dossier) : "";
      documentCount.textContent = counts ? fill(msg.msgCountDocument, { n: counts.document }) : "";
      dossierCount.textContent = counts ? fill(msg.msgCountDossier, { n: counts.dossier, docs: counts.documents }) : "";
    }

    function renderAuto(state) {
      if (!auto || !state) return;
      auto.textContent = state.text;
      auto.disabled = !state.available;
      auto.dataset.available = state.available ? "yes" : "no";
      auto.dataset.enabled = state.enabled ? "yes" : "no";
      auto.setAttribute("aria-pressed", state.enabled ? "true" : "false");
    }

    async function refresh() {
      const seen = changes;
      try {
        const answer = await fetch(msg.recentUrl, { headers: { Accept: "application/json" } });
        if (!answer.ok) return;
        const body = await answer.json();
        renderRecent(body.pages);
        renderTarget(body.target, body.counts);
        renderAuto(body.auto);
        if (!busy && seen === changes) renderArmed(body.retake);
      } catch (error) { /* the next poll tries again */ }
    }

    async function post(url, body) {
      const answer = await fetch(url, {
        method: "POST", body: JSON.stringify(body),
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json", Accept: "application/json" } });
      return { ok: answer.ok, body: await answer.json() };
    }

    async function shoot(retakeId) {
      if (busy || shutter.disabled) return;
      busy = true; changes += 1; shutter.classList.add("busy"); say(msg.msgBusy, "busy");
      try {
        await arming;
        const answer = await post(msg.shootUrl, retakeId ? { retake: retakeId } : {});
        if (!answer.ok) { say(answer.body.message_vi || answer.body.message, "error"); return; }
        const page = answer.body.pages[0];
        if (!page) { say("", "idle"); return; }
        const fields = { doc: page.docId, position: page.position };
        let text = fill(retakeId ? msg.msgRetakeDone : msg.msgSaved, fields);
        if (page.flags.length) text += " – " + page.flags.map((flag) => flag.text).join(", ");
        say(text, page.flags.length ? "flagged" : "ok");
        status.dataset.pageId = String(page.page);
        if (retakeId) renderArmed(null);
      } catch (error) {
        say(msg.msgLost, "error");
      } finally {
        busy = false; shutter.classList.remove("busy"); refresh();
      }
    }

    function retakeNow() {
      const page = armed || pages[0];
      if (!page) { say(msg.msgRetakeNone, "error"); return; }
      shoot(page.page);
    }

    async function switchAuto() {
      if (!auto) return;
      if (auto.disabled) { say(auto.textContent, "error"); return; }
      try {
        const answer = await post(msg.autoUrl, { enabled: auto.dataset.enabled !== "yes" });
        if (answer.ok) renderAuto(answer.body.auto);
        else say(answer.body.message_vi || answer.body.message, "error");
      } catch (error) { say(msg.msgLost, "error"); }
    }

    const keys = {
      Space: () => shoot(armed ? armed.page : null),
      KeyR: retakeNow,
      KeyN: () => newDocument.requestSubmit(),
      KeyA: switchAuto,
      Escape: disarm,
    };

    shutter.addEventListener("click", () => { shutter.blur(); shoot(armed ? armed.page : null); });
    byId("retake-cancel").addEventListener("click", disarm);
    if (auto) auto.addEventListener("click", () => { auto.blur(); switchAuto(); });
    document.addEventListener("keydown", (event) => {
      const action = keys[event.code];
      if (!action || event.repeat || event.ctrlKey || event.altKey || event.metaKey || typing()) return;
      event.preventDefault();  // Space must not also scroll the page or press a focused button
      if (document.activeElement && document.activeElement.tagName === "BUTTON") document.activeElement.blur();
      action();
    });
    if (preview) {
      preview.addEventListener("error", () => { preview.hidden = true; notice.hidden = false;
                                                notice.textContent = msg.msgNotRunning; });
    }
    if (banner.dataset.pending === "yes" && armed) setArmed(armed).then(refresh);  // ?retake= link
    else refresh();
    setInterval(refresh, 3000);  // shots from the pedal or auto-capture show up too
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("capture");
    if (root) setupCapture(root);
  });
})();
