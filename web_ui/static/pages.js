// Page grid: drag-and-drop and keyboard reordering (each drop POSTs the same move form the
// page offers without script). Corners editor: four handles dragged or nudged with arrow keys,
// kept in step with the form's number fields, which are what is posted. Texts come from
// data attributes and are set with textContent.
"use strict";

(function () {
  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function post(url, fields) {
    const answer = await fetch(url, {
      method: "POST", body: new URLSearchParams(fields),
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" } });
    let body = {};
    try { body = await answer.json(); } catch (error) { /* an error page, not JSON */ }
    return { ok: answer.ok, body: body };
  }

  function go(url) {
    const target = new URL(url, window.location.href);
    const same = target.pathname + target.search === window.location.pathname + window.location.search;
    window.location.assign(target.href);
    if (same) window.location.reload();
  }

  // ---- the grid -------------------------------------------------------------------------
  function setupGrid(grid) {
    const status = document.getElementById("pg-status");
    const say = (text) => { status.textContent = text; };
    let picked = null;
    let dragged = null;

    function tiles() { return Array.from(grid.querySelectorAll(".pg-page")); }

    function place(tile) {
      const section = tile.closest(".pg-doc");
      const index = Array.from(tile.parentElement.children).indexOf(tile);
      return { document: section.dataset.documentSeq, document_id: section.dataset.documentId,
               position: String(Number(section.dataset.firstPosition) + index) };
    }

    async function save(tile) {
      const form = tile.querySelector(".pg-move-form");
      if (!form) return;
      say(grid.dataset.msgSaving);
      try {
        const answer = await post(form.action, Object.assign({ csrf_token: csrf() }, place(tile)));
        if (answer.ok) { go(answer.body.url); return; }
        say(answer.body.message_vi || grid.dataset.msgFailed);
      } catch (error) {
        say(grid.dataset.msgFailed);
      }
      setTimeout(() => window.location.reload(), 2500);  // show the order the server kept
    }

    function shift(tile, step) {
      const all = tiles();
      const other = all[all.indexOf(tile) + step];
      if (!other) return;
      const sameGroup = other.parentElement === tile.parentElement;
      if (step < 0) { if (sameGroup) other.before(tile); else other.after(tile); }
      else if (sameGroup) other.after(tile); else other.before(tile);
      tile.dataset.documentSeq = tile.closest(".pg-doc").dataset.documentSeq;
      tile.focus();
    }

    function pick(tile) {
      picked = tile;
      tile.classList.add("picked");
      tile.setAttribute("aria-grabbed", "true");
      say(grid.dataset.msgPicked.replace("{n}", tile.dataset.position));
    }

    grid.addEventListener("keydown", (event) => {
      const tile = event.target;
      if (!tile.classList || !tile.classList.contains("pg-page")) return;
      const step = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 }[event.key];
      if (event.key === " " || event.key === "Enter") {
        event.preventDefault();
        if (picked === tile) { tile.classList.remove("picked"); picked = null; save(tile); }
        else if (!picked) pick(tile);
      } else if (step) {
        event.preventDefault();
        if (picked === tile) { shift(tile, step); return; }
        const all = tiles();
        const next = all[all.indexOf(tile) + step];
        if (next) next.focus();
      } else if (event.key === "Escape" && picked) {
        window.location.reload();
      }
    });

    function clearMarks() {
      for (const tile of grid.querySelectorAll(".drop-before, .drop-after")) {
        tile.classList.remove("drop-before", "drop-after");
      }
    }

    grid.addEventListener("dragstart", (event) => {
      const tile = event.target.closest && event.target.closest(".pg-page");
      if (!tile) return;
      dragged = tile;
      tile.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", tile.dataset.pageId);
    });
    grid.addEventListener("dragend", () => {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      clearMarks();
    });
    grid.addEventListener("dragover", (event) => {
      if (!dragged || !event.target.closest(".pg-pages")) return;
      event.preventDefault();
      clearMarks();
      const over = event.target.closest(".pg-page");
      if (over && over !== dragged) {
        const box = over.getBoundingClientRect();
        over.classList.add(event.clientX > box.left + box.width / 2 ? "drop-after" : "drop-before");
      }
    });
    grid.addEventListener("drop", (event) => {
      const list = event.target.closest(".pg-pages");
      if (!dragged || !list) return;
      event.preventDefault();
      const over = event.target.closest(".pg-page");
      const tile = dragged;
      if (over && over !== tile) {
        const box = over.getBoundingClientRect();
        if (event.clientX > box.left + box.width / 2) over.after(tile); else over.before(tile);
      } else if (!over) {
        list.append(tile);
      }
      clearMarks();
      if (over !== tile) save(tile);
    });

    const wanted = window.location.hash.match(/^#p(\d+)$/);
    const tile = wanted && document.getElementById("p" + wanted[1]);
    if (tile) tile.focus();
  }

  // ---- the corners editor -----------------------------------------------------------------
  function setupCorners(svg) {
    const width = Number(svg.dataset.width);
    const height = Number(svg.dataset.height);
    const outline = document.getElementById("corners-outline");
    const handles = Array.from(svg.querySelectorAll(".pg-handle"));
    let active = null;

    function field(handle, axis) { return document.getElementById(handle.dataset.corner + "_" + axis); }

    function redraw() {
      outline.setAttribute("points", handles.map(h => h.getAttribute("cx") + "," + h.getAttribute("cy")).join(" "));
    }

    function put(handle, x, y) {
      x = Math.min(width, Math.max(0, x));
      y = Math.min(height, Math.max(0, y));
      handle.setAttribute("cx", x.toFixed(1));
      handle.setAttribute("cy", y.toFixed(1));
      field(handle, "x").value = x.toFixed(1);
      field(handle, "y").value = y.toFixed(1);
      redraw();
    }

    function pointer(event) {
      const point = svg.createSVGPoint();
      point.x = event.clientX; point.y = event.clientY;
      return point.matrixTransform(svg.getScreenCTM().inverse());
    }

    for (const handle of handles) {
      handle.addEventListener("pointerdown", (event) => {
        active = handle;
        handle.classList.add("active");
        handle.setPointerCapture(event.pointerId);
        handle.focus();
        event.preventDefault();
      });
      handle.addEventListener("pointermove", (event) => {
        if (active !== handle) return;
        const point = pointer(event);
        put(handle, point.x, point.y);
      });
      const release = () => { active = null; handle.classList.remove("active"); };
      handle.addEventListener("pointerup", release);
      handle.addEventListener("pointercancel", release);
      handle.addEventListener("keydown", (event) => {
        const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
        const move = moves[event.key];
        if (!move) return;
        event.preventDefault();
        // One step is one screen pixel (ten with Shift), in the image's own pixels.
        const step = (width / svg.getBoundingClientRect().width) * (event.shiftKey ? 10 : 1);
        put(handle, Number(handle.getAttribute("cx")) + move[0] * step,
            Number(handle.getAttribute("cy")) + move[1] * step);
      });
      for (const axis of ["x", "y"]) {
        field(handle, axis).addEventListener("input", () => {
          const x = Number(field(handle, "x").value);
          const y = Number(field(handle, "y").value);
          if (Number.isFinite(x) && Number.isFinite(y)) {
            handle.setAttribute("cx", x); handle.setAttribute("cy", y); redraw();
          }
        });
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const grid = document.getElementById("page-grid");
    if (grid && grid.dataset.editable === "yes") setupGrid(grid);
    const svg = document.getElementById("corners-editor");
    if (svg) setupCorners(svg);
  });
})();
