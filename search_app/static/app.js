// Small enhancements only: every page works without this file.
(function () {
  "use strict";

  // 复制链接: the link goes to the passage as usual (same page, new #anchor); also copy its absolute URL.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.permalink") : null;
    if (!link || !navigator.clipboard || !window.isSecureContext) {
      return;
    }
    navigator.clipboard.writeText(link.href).then(function () {
      var label = link.getAttribute("data-label") || link.textContent;
      link.setAttribute("data-label", label);
      link.textContent = "已复制";
      setTimeout(function () { link.textContent = label; }, 1500);
    }, function () { /* no permission: the plain link still did its job */ });
  });
})();
