// Queue pages: live rows through Server-Sent Events, and one-key work.
// n = claim the next case, / = search. Rows come from the server as escaped HTML.
(function () {
  "use strict";
  var table = document.getElementById("queue");
  var state = document.getElementById("live-state");
  if (!table) { return; }

  var pending = null;
  function refresh() {
    // Several changes in a burst: fetch the rows once.
    if (pending) { return; }
    pending = setTimeout(function () {
      pending = null;
      fetch(table.dataset.rows, {credentials: "same-origin"}).then(function (answer) {
        if (!answer.ok) { throw new Error(String(answer.status)); }
        return answer.text();
      }).then(function (html) {
        // Parsed inert (DOMParser runs no scripts), then moved into the page.
        var parsed = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html");
        var fresh = parsed.getElementById("queue-rows");
        if (fresh) {
          table.replaceChild(document.importNode(fresh, true),
                             document.getElementById("queue-rows"));
        }
        state.textContent = "updated " + new Date().toLocaleTimeString();
      }).catch(function () { state.textContent = "could not refresh"; });
    }, 150);
  }

  if (window.EventSource) {
    var source = new EventSource(table.dataset.events);
    source.addEventListener("changed", refresh);
    source.onopen = function () { state.textContent = "live"; };
    source.onerror = function () { state.textContent = "reconnecting"; };
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "SELECT" ||
                            target.tagName === "TEXTAREA" || target.isContentEditable);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "n") {
      var claim = document.getElementById("claim-next");
      if (claim) { event.preventDefault(); claim.submit(); }
    } else if (event.key === "/") {
      var search = document.getElementById("q");
      if (search) { event.preventDefault(); search.focus(); }
    }
  });
}());
