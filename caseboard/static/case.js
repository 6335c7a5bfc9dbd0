// Case page: every 5 s tell the server the page is still open, show who else has it open,
// and warn when the case changed since the page was loaded. Only textContent is written.
(function () {
  "use strict";
  var live = document.getElementById("case-live");
  if (!live || !window.fetch) { return; }
  var viewers = document.getElementById("viewers");
  var names = document.getElementById("viewer-names");
  var stale = document.getElementById("stale");
  function beat() {
    fetch(live.dataset.url, {method: "POST", credentials: "same-origin",
                             headers: {"X-CSRFToken": live.dataset.csrf}})
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        names.textContent = data.viewers.join(", ");
        viewers.hidden = data.viewers.length === 0;
        stale.hidden = data.version === live.dataset.version;
      }).catch(function () { /* offline for a moment: try again at the next beat */ });
  }
  setInterval(beat, 5000);
  setTimeout(beat, 1000);
})();
