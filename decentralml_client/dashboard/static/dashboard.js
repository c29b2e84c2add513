// Live refresh: the server pushes `block` and `status` events (SSE); on each, re-fetch this
// page and swap its content in place. Nothing here talks to anything but this server.
(function () {
  "use strict";
  var timer = null, inflight = false, again = false, refreshes = 0;

  function setLive(text) {
    var el = document.getElementById("live");
    if (el) el.textContent = text;
  }

  function refresh() {
    if (inflight) { again = true; return; }
    inflight = true;
    fetch(window.location.href, { cache: "no-store", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        ["content", "chain-status"].forEach(function (id) {
          var fresh = doc.getElementById(id), cur = document.getElementById(id);
          if (fresh && cur) cur.replaceWith(document.importNode(fresh, true));
        });
        document.body.dataset.chain = doc.body.dataset.chain || "down";
        refreshes += 1;
        document.body.dataset.refreshes = String(refreshes);
      })
      .catch(function () { setLive("· dashboard unreachable"); })
      .finally(function () {
        inflight = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  }

  if (window.EventSource) {
    var source = new EventSource("/api/events");
    source.addEventListener("block", function (ev) {
      var d = JSON.parse(ev.data);
      var head = document.getElementById("head");
      if (head) head.textContent = "#" + d.number;
      schedule();
    });
    source.addEventListener("status", function () { schedule(); });
    source.addEventListener("open", function () { document.body.dataset.live = "1"; });
    source.onerror = function () { document.body.dataset.live = "0"; setLive("· reconnecting…"); };
  }
  // While the chain is down, also poll: the page comes back as soon as the node does.
  setInterval(function () { if (document.body.dataset.chain === "down") refresh(); }, 3000);
})();
