// FieldPay live status: follows the payment of a "주문 등록 완료" (or agent) page without a
// reload. The page works without this script (a refresh shows the state). The element
// #live carries data-events (a server-sent event stream) and data-poll (the same state as
// JSON, for browsers or networks where the stream fails); each message is
// {"page": "registered|result|agent", "status": "...", "final": bool, "html": "..."} with
// the HTML of #live rendered by the server.
(function () {
  'use strict';
  var live = document.getElementById('live');
  if (!live) { return; }
  var main = document.getElementById('page');
  var eventsUrl = live.getAttribute('data-events');
  var pollUrl = live.getAttribute('data-poll');
  var done = false;
  var source = null;
  var timer = null;

  function apply(msg) {
    if (!msg || typeof msg.html !== 'string') { return; }
    var status = document.getElementById('status');
    var current = status ? status.getAttribute('data-status') : null;
    if (current !== msg.status || live.innerHTML !== msg.html) {
      live.innerHTML = msg.html;
    }
    if (main && msg.page) { main.setAttribute('data-page', msg.page); }
    if (msg.final) { stop(); }
  }

  function stop() {
    done = true;
    if (source) { source.close(); source = null; }
    if (timer) { clearTimeout(timer); timer = null; }
  }

  function poll() {
    if (done || !pollUrl) { return; }
    var xhr = new XMLHttpRequest();
    xhr.open('GET', pollUrl, true);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.onload = function () {
      if (xhr.status === 200) {
        try { apply(JSON.parse(xhr.responseText)); } catch (e) { /* next poll */ }
      }
      if (!done) { timer = setTimeout(poll, 3000); }
    };
    xhr.onerror = function () { if (!done) { timer = setTimeout(poll, 5000); } };
    xhr.send();
  }

  function listen() {
    if (!eventsUrl || typeof window.EventSource !== 'function') { poll(); return; }
    var failures = 0;
    source = new EventSource(eventsUrl);
    source.addEventListener('status', function (e) {
      failures = 0;
      try { apply(JSON.parse(e.data)); } catch (err) { /* ignore a bad message */ }
    });
    source.onerror = function () {
      failures += 1;
      if (failures >= 3 && source) {
        // The stream keeps failing (a proxy that buffers, say): poll instead.
        source.close();
        source = null;
        poll();
      }
    };
  }

  listen();
}());
