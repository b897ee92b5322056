/* Indicators dashboard: charts (Chart.js) and the mesh map (Leaflet), drawn from the JSON the page
   carries. Every figure is also in the page's tables, so the page works without JavaScript. */
(function () {
  "use strict";

  var COLORS = {
    primary: "#0f5c4d",
    primaryLight: "#7fb8aa",
    accent: "#b35c00",
    blue: "#1f4b8f",
    grey: "#8a959c",
  };
  var number = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

  function readJSON(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function pollStatus() {
    var status = document.getElementById("indicators-status");
    var url = status && status.getAttribute("data-poll");
    if (!url || !window.fetch) return;
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (state) {
          if (!state.pending) {
            clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () { clearInterval(timer); });
    }, 5000);
  }

  // --- Charts -------------------------------------------------------------------------------------

  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return null;
    return new window.Chart(canvas, config);
  }

  function baseOptions(unit, stacked, points) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 300 },
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 14, usePointStyle: !!points } },
        tooltip: {
          callbacks: {
            label: function (item) {
              var value = item.parsed.y;
              return item.dataset.label + " : " + (value === null ? "—" : number.format(value) + (unit ? " " + unit : ""));
            },
          },
        },
      },
      scales: {
        x: { stacked: !!stacked, ticks: { maxRotation: 0, autoSkip: true } },
        y: {
          stacked: !!stacked,
          beginAtZero: true,
          ticks: { precision: unit === "km" || unit === "kg" ? undefined : 0, callback: function (value) { return number.format(value); } },
        },
      },
    };
  }

  function drawCharts(data) {
    if (!window.Chart || !data) return;
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#3b4449";
    var series = data.series;
    if (series && series.labels.length) {
      chart("chart-pcs", {
        type: "bar",
        data: {
          labels: series.labels,
          datasets: [
            { label: "Vendus", data: series.pcs_sold, backgroundColor: COLORS.primary },
            { label: "Donnés", data: series.pcs_given, backgroundColor: COLORS.accent },
          ],
        },
        options: baseOptions("PC", true),
      });
      chart("chart-devices", {
        type: "line",
        data: {
          labels: series.labels,
          datasets: [
            { label: "Vendus ou donnés", data: series.devices_distributed, borderColor: COLORS.primary, backgroundColor: COLORS.primary, pointRadius: 4, cubicInterpolationMode: "monotone" },
            { label: "Prêtés", data: series.devices_lent, borderColor: COLORS.blue, backgroundColor: COLORS.blue, pointStyle: "triangle", pointRadius: 4, cubicInterpolationMode: "monotone" },
          ],
        },
        options: baseOptions("appareils", false, true),
      });
      chart("chart-weights", {
        type: "bar",
        data: {
          labels: series.labels,
          datasets: [
            { label: "Collectés", data: series.kg_collected, backgroundColor: COLORS.blue },
            { label: "Réemployés", data: series.kg_reused, backgroundColor: COLORS.primary },
            { label: "DEEE", data: series.kg_deee, backgroundColor: COLORS.accent },
          ],
        },
        options: baseOptions("kg"),
      });
    }
    var states = data.states;
    if (states && states.labels.length) {
      chart("chart-mesh", {
        type: "line",
        data: {
          labels: states.labels,
          datasets: [
            { label: "Lieux ouverts au public", data: states.places_weighted_distance_km, borderColor: COLORS.primary, backgroundColor: COLORS.primary, pointRadius: 4 },
            { label: "Points de collecte DEEE", data: states.deee_points_weighted_distance_km, borderColor: COLORS.accent, backgroundColor: COLORS.accent, pointStyle: "triangle", pointRadius: 5 },
          ],
        },
        options: baseOptions("km", false, true),
      });
    }
  }

  // --- Map ------------------------------------------------------------------------------------------

  function colorFor(distance, data) {
    if (distance === null || distance === undefined) return data.no_place_color;
    for (var i = 0; i < data.classes.length; i++) {
      var max = data.classes[i].max_km;
      if (max === null || distance <= max) return data.classes[i].color;
    }
    return data.no_place_color;
  }

  function escapeHTML(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function drawMap(data) {
    var element = document.getElementById("indicators-map");
    if (!element || !window.L || !data || !data.communes.length) {
      if (element) element.innerHTML = '<p class="empty">Aucune commune à afficher.</p>';
      return;
    }
    var L = window.L;
    var map = L.map(element, { preferCanvas: true, attributionControl: !!data.tile_url, zoomSnap: 0.25 });
    element.indicatorsMap = map;
    if (data.tile_url) {
      L.tileLayer(data.tile_url, { attribution: data.tile_attribution || "", maxZoom: 18 }).addTo(map);
    }
    var maxPopulation = Math.max.apply(null, data.communes.map(function (c) { return c.population || 0; }));
    var communes = L.layerGroup().addTo(map);
    var sites = L.layerGroup().addTo(map);
    var network = "place";

    function radius(population) {
      return 3 + 14 * Math.sqrt((population || 0) / (maxPopulation || 1));
    }

    function drawCommunes() {
      communes.clearLayers();
      data.communes.forEach(function (commune) {
        var distance = commune[network + "_km"];
        var nearest = commune[network + "_nearest"];
        L.circleMarker([commune.lat, commune.lon], {
          radius: radius(commune.population),
          color: "#5b4636",
          weight: 0.6,
          fillColor: colorFor(distance, data),
          fillOpacity: 0.9,
        })
          .bindTooltip(
            "<strong>" + escapeHTML(commune.name) + "</strong><br>" +
              number.format(commune.population || 0) + " habitants<br>" +
              (distance === null || distance === undefined
                ? "aucun lieu"
                : number.format(distance) + " km de " + escapeHTML(nearest)),
          )
          .addTo(communes);
      });
    }

    function drawSites() {
      sites.clearLayers();
      var list = network === "place" ? data.places : data.deee_points;
      list.forEach(function (site) {
        var size = site.outside ? 9 : 11;
        var icon = L.divIcon({
          className: "",
          html:
            '<span style="display:block;width:' + size + "px;height:" + size + "px;background:" +
            (site.outside ? "#fff" : COLORS.primary) + ";border:2px solid " + (site.outside ? COLORS.primary : "#fff") +
            ";outline:1px solid " + COLORS.primary + ';border-radius:2px"></span>',
          iconSize: [size + 4, size + 4],
          iconAnchor: [(size + 4) / 2, (size + 4) / 2],
        });
        var details = site.public_devices ? "<br>" + site.public_devices + " équipement(s) en accès libre" : "";
        L.marker([site.lat, site.lon], { icon: icon, keyboard: false, title: site.name })
          .bindTooltip("<strong>" + escapeHTML(site.name) + "</strong>" + details + (site.outside ? "<br>(hors du département)" : ""))
          .addTo(sites);
      });
    }

    drawCommunes();
    drawSites();
    var bounds = L.latLngBounds(data.communes.map(function (c) { return [c.lat, c.lon]; }));
    map.fitBounds(bounds, { padding: [12, 12] });

    document.querySelectorAll('input[name="network"]').forEach(function (input) {
      input.addEventListener("change", function () {
        network = input.value;
        drawCommunes();
        drawSites();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pollStatus();
    drawCharts(readJSON("indicators-charts"));
    drawMap(readJSON("indicators-map-data"));
  });
})();
