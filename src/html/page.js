"use strict";
(function () {
  var doc = document;
  // Every case table: a run's page has one, a comparison's one per pair compared.
  var matrices = Array.prototype.slice.call(doc.querySelectorAll("table.matrix"));
  var rows = [];
  matrices.forEach(function (m) {
    rows = rows.concat(Array.prototype.slice.call(m.tBodies[0].rows));
  });
  var filter = "all";
  function visible(row) {
    if (filter === "all") return true;
    if (filter === "failing") return row.dataset.status !== "pass";
    if (filter === "flaky") return row.dataset.flaky === "1";
    if (filter === "disagree") return row.dataset.disagree === "1";
    return true;
  }
  function apply() {
    rows.forEach(function (row) { row.hidden = !visible(row); });
  }
  doc.querySelectorAll(".filters button").forEach(function (button) {
    button.addEventListener("click", function () {
      filter = button.dataset.filter;
      doc.querySelectorAll(".filters button").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      apply();
    });
  });
  matrices.forEach(function (matrix) {
    var sortState = { col: -1, dir: 1 };
    matrix.querySelectorAll("th[data-sort]").forEach(function (th) {
      var col = th.cellIndex;
      th.addEventListener("click", function () {
        sortState.dir = sortState.col === col ? -sortState.dir : 1;
        sortState.col = col;
        var body = matrix.tBodies[0];
        var own = Array.prototype.slice.call(body.rows);
        own.sort(function (a, b) {
          var x = a.cells[col].dataset.key || a.cells[col].textContent;
          var y = b.cells[col].dataset.key || b.cells[col].textContent;
          var nx = parseFloat(x), ny = parseFloat(y);
          var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : (x < y ? -1 : x > y ? 1 : 0);
          return c * sortState.dir;
        });
        own.forEach(function (row) { body.appendChild(row); });
        rows = [];
        matrices.forEach(function (m) {
          rows = rows.concat(Array.prototype.slice.call(m.tBodies[0].rows));
        });
      });
    });
  });
  var current = -1;
  function shown() { return rows.filter(function (r) { return !r.hidden; }); }
  function select(i) {
    var list = shown();
    if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, i));
    rows.forEach(function (r) { r.classList.remove("cur"); });
    list[current].classList.add("cur");
    list[current].scrollIntoView({ block: "nearest" });
  }
  doc.addEventListener("keydown", function (e) {
    if (e.target && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) return;
    if (e.key === "j") select(current + 1);
    else if (e.key === "k") select(current - 1);
    else if (e.key === "Enter" && current >= 0) {
      var link = shown()[current] && shown()[current].querySelector("a[href^='#']");
      if (link) {
        var target = doc.getElementById(link.getAttribute("href").slice(1));
        if (target) { target.open = true; target.scrollIntoView(); }
      }
    } else if (e.key === "Escape") {
      doc.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
    }
  });
  doc.querySelectorAll("a[href^='#']").forEach(function (a) {
    a.addEventListener("click", function () {
      var target = doc.getElementById(a.getAttribute("href").slice(1));
      for (var el = target; el; el = el.parentElement) {
        if (el.tagName === "DETAILS") el.open = true;
      }
    });
  });
  var collapse = doc.getElementById("collapse-all");
  if (collapse) {
    collapse.hidden = false;
    collapse.addEventListener("click", function () {
      doc.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
    });
  }
  doc.body.setAttribute("data-tv-ready", "1");
})();
