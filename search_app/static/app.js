// Small enhancements only: every page works without this file.
(function () {
  "use strict";

  // The async Clipboard API exists only in a secure context (HTTPS or localhost); on a plain-HTTP
  // intranet the old way still works: select the text in a field and ask the browser to copy it.
  function copyBySelection(text) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.style.position = "fixed";
    field.style.top = "0";
    field.style.left = "-9999px";
    document.body.appendChild(field);
    field.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (err) {
      copied = false;
    }
    document.body.removeChild(field);
    return copied;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; },
        function () { return copyBySelection(text); });
    }
    return Promise.resolve(copyBySelection(text));
  }

  // Nothing could be copied: show the link in a selected field beside the button, to copy by hand.
  function showForHand(link) {
    var head = link.closest(".passage-head") || link.parentNode;  // below the passage's heading row
    var box = head.parentNode.querySelector(".copy-by-hand");
    if (!box) {
      box = document.createElement("span");
      box.className = "copy-by-hand";
      box.setAttribute("role", "status");
      var label = document.createElement("label");
      label.textContent = "无法自动复制，请手动复制此链接：";
      var field = document.createElement("input");
      field.type = "text";
      field.readOnly = true;
      field.className = "copy-field";
      label.appendChild(field);
      box.appendChild(label);
      head.parentNode.insertBefore(box, head.nextSibling);
    }
    var input = box.querySelector("input");
    input.value = link.href;
    // After the click's own work: following the link to its passage moves the focus there.
    setTimeout(function () {
      input.focus();
      input.select();
    }, 0);
  }

  // 复制链接: the link goes to the passage as usual (same page, new #anchor); also copy its absolute URL.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.permalink") : null;
    if (!link) {
      return;
    }
    copyText(link.href).then(function (copied) {
      if (!copied) {
        showForHand(link);
        return;
      }
      var label = link.getAttribute("data-label") || link.textContent;
      link.setAttribute("data-label", label);
      link.textContent = "已复制";
      setTimeout(function () { link.textContent = label; }, 1500);
    });
  });

  // Mode and sort are links that apply at once. A query typed but not yet sent would be lost by
  // following one, so then the form is sent instead, with the chosen mode or sort.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-field]") : null;
    var form = link ? link.closest("form") : null;
    var box = form ? form.querySelector("input[name=q]") : null;
    if (!box || box.value === box.defaultValue) {
      return;
    }
    event.preventDefault();
    var field = form.querySelector("input[type=hidden][name=" + link.getAttribute("data-field") + "]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = link.getAttribute("data-field");
      form.appendChild(field);
    }
    field.value = link.getAttribute("data-value");
    form.submit();
  });
})();
