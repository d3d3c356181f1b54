// Keyvend pages: small progressive enhancements. Every form works without this file.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");

  function postJson(form) {
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function writeClipboard(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  // A masked key: Reveal fetches it in place (no reload); Copy fetches it if needed.
  document.querySelectorAll("[data-secret]").forEach(function (box) {
    var value = box.querySelector("[data-secret-value]");
    var form = box.querySelector("form[data-reveal]");
    var copy = box.querySelector("[data-copy]");
    var status = box.querySelector("[data-copy-status]");
    var plain = copy.getAttribute("data-copy-text");
    var timer = null;

    function key() {
      if (plain) return Promise.resolve(plain);
      return postJson(form).then(function (data) { plain = data.key; return plain; });
    }
    function say(text) {
      status.textContent = text;
      clearTimeout(timer);
      timer = setTimeout(function () { status.textContent = ""; }, 4000);
    }
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        key().then(function (k) {
          value.textContent = k;
          form.hidden = true;
        }).catch(function () { form.submit(); });
      });
    }
    copy.hidden = false;
    copy.addEventListener("click", function () {
      key().then(writeClipboard).then(function () { say("Copied to the clipboard"); })
        .catch(function () { say("Could not copy: reveal the key and copy it by hand"); });
    });
  });

  // Custom parameter rows: add and delete in place.
  document.querySelectorAll("[data-param-rows]").forEach(function (rows) {
    var fieldset = rows.closest("fieldset");
    var template = fieldset.querySelector("template[data-param-template]");
    var empty = fieldset.querySelector("[data-param-empty]");
    var counter = rows.rows.length;

    function renumber() {
      Array.prototype.forEach.call(rows.rows, function (row, i) {
        var labels = row.querySelectorAll("label");
        labels[0].textContent = "Parameter " + (i + 1) + " name";
        labels[1].textContent = "Parameter " + (i + 1) + " value";
        labels[2].textContent = "Parameter " + (i + 1) + " label";
        var hint = row.querySelector("[data-delete-row] .sr-only");
        if (hint) hint.textContent = "parameter " + (i + 1);
      });
      empty.hidden = rows.rows.length > 0;
      rows.closest("form").dispatchEvent(new Event("input"));
    }
    fieldset.querySelector("[data-add-row]").addEventListener("click", function (event) {
      event.preventDefault();
      counter += 1;
      var html = template.innerHTML.replace(/__i__/g, "new" + counter)
        .replace(/__n__/g, String(rows.rows.length + 1));
      rows.insertAdjacentHTML("beforeend", html);
      renumber();
      rows.lastElementChild.querySelector("input").focus();
    });
    rows.addEventListener("click", function (event) {
      var button = event.target.closest("[data-delete-row]");
      if (!button) return;
      event.preventDefault();
      button.closest("tr").remove();
      renumber();
    });
  });

  // The live sample key: ask the server's generator whenever a setting changes.
  document.querySelectorAll("form[data-sample-form]").forEach(function (form) {
    var box = form.querySelector("[data-sample-url]");
    if (!box) return;
    var output = box.querySelector("output");
    var error = box.querySelector(".error");
    var limits = box.querySelector("#sample-limits");
    var fields = ["length", "split", "split_interval", "case", "prefix", "param_name", "param_value",
      "param_label", "quota", "quota_period", "rate_limit"];
    var latest = 0;

    function update() {
      var data = new FormData(form);
      var query = new URLSearchParams();
      fields.forEach(function (name) {
        data.getAll(name).forEach(function (v) { query.append(name, v); });
      });
      var mine = ++latest;
      fetch(box.getAttribute("data-sample-url") + "?" + query.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      }).then(function (response) { return response.json(); }).then(function (result) {
        if (mine !== latest) return;
        output.textContent = result.sample || "";
        if (limits) limits.textContent = result.limits || "";
        error.textContent = result.error || "";
        error.hidden = !result.error;
      }).catch(function () { /* keep the last sample */ });
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
  });

  // Print an invoice (the print stylesheet leaves the document alone on the page).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
