// Progressive enhancement for Podium's pages. Every form works without this file; with it,
// predictions appear without a page load, files can be dropped and previewed, digits drawn,
// batch jobs show a live progress bar and the model list can be filtered.
"use strict";

(function () {
  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  // -- model list filter ------------------------------------------------------------------
  function setupFilter() {
    var box = $("[data-filter-for]");
    if (!box) return;
    var table = document.getElementById(box.getAttribute("data-filter-for"));
    var input = $("input", box);
    var empty = document.getElementById("filter-empty");
    box.hidden = false;
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      $all("[data-filter-row]", table).forEach(function (row) {
        var text = row.textContent.toLowerCase();
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !match;
        if (match) shown += 1;
      });
      if (empty) empty.hidden = shown !== 0;
    });
  }

  // -- size check before uploading --------------------------------------------------------
  function tooLarge(form) {
    var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
    if (!limit) return null;
    var big = $all("input[type=file]", form).filter(function (input) {
      return input.files && input.files.length && input.files[0].size > limit;
    });
    if (!big.length) return null;
    return "The file is too large: the limit is " + (limit / 1048576).toFixed(1).replace(/\.0$/, "") + " MB.";
  }

  function showError(target, message) {
    target.textContent = "";
    var p = document.createElement("p");
    p.className = "error-message";
    p.setAttribute("role", "alert");
    p.textContent = message;
    target.appendChild(p);
  }

  function refusal(status) {
    return status === 400 || status === 403
      ? "This page is out of date (its form token was refused). Reload the page and try again."
      : "The server answered " + status + ". Try again, or reload the page.";
  }

  window.Podium = { showError: showError, refusal: refusal };  // for the pages' own scripts (chat.js)

  // -- predictions without a page load ----------------------------------------------------
  function sendPrediction(form, data) {
    var result = document.getElementById("result");
    var button = $("button[type=submit]", form);
    result.setAttribute("aria-busy", "true");
    if (button) button.disabled = true;
    return fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                                headers: { "X-Podium-Fetch": "1" } })
      .then(function (response) {
        return response.text().then(function (text) {
          if (response.headers.get("Content-Type").indexOf("text/html") === 0 && text.indexOf("<html") === -1) {
            result.innerHTML = text;  // a fragment rendered (and escaped) by the server
          } else {
            showError(result, refusal(response.status));
          }
        });
      })
      .catch(function () { showError(result, "Podium could not be reached. Check the connection and try again."); })
      .then(function () {
        result.removeAttribute("aria-busy");
        if (button) button.disabled = false;
      });
  }

  function setupPredictForms() {
    $all("form[data-enhance=predict]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var message = tooLarge(form);
        if (message) { showError(document.getElementById("result"), message); return; }
        sendPrediction(form, new FormData(form));
      });
    });
    $all("form[data-enhance=size]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        var message = tooLarge(form);
        var slot = $("[data-size-error]", form);
        if (message) {
          event.preventDefault();
          slot.textContent = message;
          slot.hidden = false;
        }
      });
    });
  }

  // -- drag and drop, with a preview ------------------------------------------------------
  function setupDropzones() {
    $all("[data-dropzone]").forEach(function (zone) {
      var input = $("input[type=file]", zone);
      var preview = $("[data-preview]", zone);
      function show() {
        if (!preview) return;
        if (input.files && input.files.length && /^image\//.test(input.files[0].type)) {
          preview.src = URL.createObjectURL(input.files[0]);
          preview.hidden = false;
        } else {
          preview.hidden = true;
        }
      }
      input.addEventListener("change", show);
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        if (event.dataTransfer && event.dataTransfer.files.length) {
          input.files = event.dataTransfer.files;
          show();
        }
      });
    });
  }

  // -- draw a digit -----------------------------------------------------------------------
  function setupDrawing() {
    var box = $("[data-drawing]");
    if (!box) return;
    var canvas = $("[data-canvas]", box);
    var form = $("form[data-enhance=predict]");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    function clear() {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    }
    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return [(event.clientX - rect.left) * canvas.width / rect.width,
              (event.clientY - rect.top) * canvas.height / rect.height];
    }
    clear();
    ctx.lineWidth = 18;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#000";
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      canvas.setPointerCapture(event.pointerId);
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(p[0], p[1]);
      ctx.lineTo(p[0] + 0.1, p[1] + 0.1);
      ctx.stroke();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var p = point(event);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
    });
    ["pointerup", "pointercancel"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    $("[data-draw-clear]", box).addEventListener("click", clear);
    $("[data-draw-predict]", box).addEventListener("click", function () {
      canvas.toBlob(function (blob) {
        var data = new FormData(form);
        data.set("image", blob, "drawing.png");
        sendPrediction(form, data);
      }, "image/png");
    });
    box.hidden = false;
  }

  // -- batch job progress -----------------------------------------------------------------
  function setupJob() {
    var card = $("[data-job]");
    if (!card || ["queued", "running"].indexOf(card.getAttribute("data-state")) === -1) return;
    var bar = $("progress", card);
    var text = $("[data-job-text]", card);
    var state = $("[data-job-state] strong", card);
    function poll() {
      fetch(card.getAttribute("data-job"), { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (doc) {
          bar.value = doc.percent;
          bar.textContent = doc.percent + "%";
          text.textContent = doc.rows_done + " of about " + doc.rows_total + " rows (" + doc.percent + "%)";
          state.textContent = doc.state;
          if (doc.state === "done" || doc.state === "failed") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 400);
          }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    poll();
  }

  // -- copy buttons -----------------------------------------------------------------------
  function setupCopy() {
    if (!navigator.clipboard) return;
    $all("[data-copy]").forEach(function (button) {
      var code = button.previousElementSibling;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(code.textContent).then(function () { button.textContent = "Copied"; });
      });
    });
  }

  // -- ask before destructive admin actions ------------------------------------------------
  function setupConfirm() {
    $all("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupConfirm();
    setupFilter();
    setupPredictForms();
    setupDropzones();
    setupDrawing();
    setupJob();
    setupCopy();
  });
})();
