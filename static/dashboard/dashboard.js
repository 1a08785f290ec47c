// Tollgate dashboard: draws the charts from the page's JSON and follows the live calls-per-second feed.
(function () {
  "use strict";
  var script = document.currentScript;
  var params = new URLSearchParams(window.location.search);
  if (!params.has("tz") && window.Intl) {
    // Days are cut in the viewer's zone: ask again with the browser's zone the first time.
    params.set("tz", Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
    window.location.replace(window.location.pathname + "?" + params.toString());
    return;
  }
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var palette = ["#2457d6", "#e8590c", "#2f9e44", "#ae3ec9", "#f08c00", "#1098ad", "#d6336c", "#5c940d", "#868e96"];
  window.tollgateCharts = {};

  function stacked(id, periods, series) {
    var names = Object.keys(series);
    window.tollgateCharts[id] = new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: periods, datasets: names.map(function (name, i) {
        return { label: name, data: series[name], backgroundColor: palette[i % palette.length] };
      }) },
      options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "USD" } } } }
    });
  }

  function ranked(id, chart) {
    window.tollgateCharts[id] = new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels: chart.labels, datasets: [{ label: "USD", data: chart.values, backgroundColor: palette[0] }] },
      options: { animation: false, indexAxis: "y", responsive: true, plugins: { legend: { display: false } } }
    });
  }

  stacked("chart-team", data.time.periods, data.time.team);
  stacked("chart-model", data.time.periods, data.time.model);
  stacked("chart-provider", data.time.periods, data.time.provider);
  stacked("chart-tag", data.time.periods, data.time.tag);
  ranked("chart-keys", data.keys);
  ranked("chart-models", data.models);
  ranked("chart-tags", data.tags);

  var live = new Chart(document.getElementById("chart-live"), {
    type: "line",
    data: { labels: [], datasets: [
      { label: "calls", data: [], borderColor: palette[0], pointRadius: 0 },
      { label: "errors", data: [], borderColor: "#c53030", pointRadius: 0 },
      { label: "refused", data: [], borderColor: palette[4], pointRadius: 0 }] },
    options: { animation: false, responsive: true, scales: { y: { beginAtZero: true } } }
  });
  window.tollgateCharts["chart-live"] = live;

  function follow() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + script.dataset.feed);
    socket.onmessage = function (message) {
      var seconds = JSON.parse(message.data).seconds;
      seconds.forEach(function (s) {
        live.data.labels.push(new Date(s.second * 1000).toLocaleTimeString());
        live.data.datasets[0].data.push(s.calls);
        live.data.datasets[1].data.push(s.errors);
        live.data.datasets[2].data.push(s.refused);
      });
      while (live.data.labels.length > 60) {
        live.data.labels.shift();
        live.data.datasets.forEach(function (d) { d.data.shift(); });
      }
      if (seconds.length) { document.getElementById("live-rate").textContent = seconds[seconds.length - 1].calls; }
      live.update();
      document.body.dataset.feed = "live";
    };
    socket.onclose = function () { document.body.dataset.feed = "closed"; window.setTimeout(follow, 5000); };
  }
  follow();
  document.body.dataset.charts = "drawn";
})();
