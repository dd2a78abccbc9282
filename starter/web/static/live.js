// Live updates without reloading: the queue polls /queue/live.json and tells of a new urgent or
// 领导督办 ticket (a notice, and a short tone when the clerk turned it on); a ticket page polls its
// own live.json and offers to reload when someone else moved the ticket.
(function () {
  "use strict";
  var INTERVAL = window.HOTLINE_LIVE_MS || 15000;  // tests poll faster
  var notice = document.getElementById("live-notice");

  function show(html) {
    notice.innerHTML = html;
    notice.hidden = false;
  }

  function tone() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880;
      osc.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
    } catch (e) { /* no audio here: the notice is enough */ }
  }

  function escape(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function queue() {
    var seen = null;
    var sound = document.getElementById("live-sound");
    if (sound) {
      sound.checked = localStorage.getItem("hotline-sound") === "1";
      sound.addEventListener("change", function () { localStorage.setItem("hotline-sound", sound.checked ? "1" : "0"); });
    }
    function poll() {
      fetch("/queue/live.json", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          var status = document.getElementById("live-status");
          if (status) status.textContent = "实时更新：在办 " + data.open + " 件，超期 " + data.overdue + " 件";
          var fresh = [];
          data.alerts.forEach(function (a) {
            if (seen !== null && !seen[a.ticket_no]) fresh.push(a);
          });
          seen = seen || {};
          data.alerts.forEach(function (a) { seen[a.ticket_no] = true; });
          if (fresh.length) {
            show("新到" + fresh.map(function (a) {
              return "<strong>" + escape(a.why) + "</strong>工单 <a href=\"/tickets/" + encodeURIComponent(a.ticket_no) + "\">" +
                escape(a.ticket_no) + "</a>（" + escape(a.category) + " · " + escape(a.street) + "）";
            }).join("；") + " <a href=\"\">刷新列表</a>");
            if (sound && sound.checked) tone();
          }
        })
        .catch(function () { /* the next poll tries again */ });
    }
    poll();
    setInterval(poll, INTERVAL);
  }

  function ticket(el) {
    var status = el.getAttribute("data-status");
    var actions = el.getAttribute("data-actions");
    setInterval(function () {
      fetch(el.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && (data.status !== status || String(data.actions) !== actions)) {
            show("工单已有新的办理记录（当前状态：" + escape(data.status) + "）。<a href=\"\">刷新查看</a>");
          }
        })
        .catch(function () {});
    }, INTERVAL);
  }

  if (!notice) return;
  var one = document.getElementById("ticket-live");
  if (one) ticket(one); else queue();
})();
