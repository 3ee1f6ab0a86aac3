/* Dashboards: draw each table's chart with the vendored Chart.js (static/vendor/chart.js-4.6.1).
 *
 * The data comes from a <script type="application/json"> block (Django's json_script) named by
 * the canvas's data-chart attribute: the CSP allows no inline script, and JSON is not run.
 * Every chart has its table right after it (the accessible version of the chart) and a text
 * summary; a hidden (suppressed) figure is null here and leaves a gap, never a zero.
 *
 * Readable without colour: each series has its own colour (at least 3:1 on white), its own
 * dash and point shape (lines) or fill pattern (bars). In forced-colors mode (Windows high
 * contrast) every series is drawn in the system text colour and told apart by those shapes.
 */
(function () {
  "use strict";

  // Brand blue, burnt orange, green, purple, slate: each at least 4.5:1 on white.
  var PALETTE = ["#0b4f8a", "#b34700", "#14622f", "#6a1b9a", "#4a5561"];
  var DASHES = [[], [8, 4], [2, 3], [12, 4, 2, 4], [4, 4]];
  var POINTS = ["circle", "rect", "triangle", "rectRot", "crossRot"];

  function media(query) {
    return Boolean(window.matchMedia && window.matchMedia(query).matches);
  }

  function colours(canvas) {
    var style = window.getComputedStyle(canvas);
    var forced = media("(forced-colors: active)");
    var ink = style.color || "#1b1f24";
    var paper = window.getComputedStyle(document.body).backgroundColor || "#ffffff";
    return {
      forced: forced,
      ink: ink,
      paper: forced ? paper : "#ffffff",
      grid: forced ? ink : "#c9d1da",
      series: function (i) {
        return forced ? ink : PALETTE[i % PALETTE.length];
      },
    };
  }

  // A small tile repeated over a bar: solid, diagonal stripes, dots, cross-hatch, rungs.
  function pattern(colour, paper, index) {
    var kind = index % 5;
    if (kind === 0) {
      return colour;
    }
    var size = 10;
    var tile = document.createElement("canvas");
    tile.width = size;
    tile.height = size;
    var g = tile.getContext("2d");
    g.fillStyle = colour;
    g.fillRect(0, 0, size, size);
    g.strokeStyle = paper;
    g.fillStyle = paper;
    g.lineWidth = 2;
    g.beginPath();
    if (kind === 1) {
      g.moveTo(0, size);
      g.lineTo(size, 0);
      g.moveTo(-2, 2);
      g.lineTo(2, -2);
      g.moveTo(size - 2, size + 2);
      g.lineTo(size + 2, size - 2);
      g.stroke();
    } else if (kind === 2) {
      g.arc(size / 2, size / 2, 2, 0, 2 * Math.PI);
      g.fill();
    } else if (kind === 3) {
      g.moveTo(0, 0);
      g.lineTo(size, size);
      g.moveTo(size, 0);
      g.lineTo(0, size);
      g.stroke();
    } else {
      g.moveTo(0, size / 2);
      g.lineTo(size, size / 2);
      g.stroke();
    }
    return g.createPattern(tile, "repeat");
  }

  function formatter(axis) {
    var suffix = axis.suffix || "";
    return function (value) {
      if (value === null || value === undefined) {
        return "hidden";
      }
      var shown = axis.unit === "mean" ? Number(value).toFixed(2) : String(value);
      return shown + suffix;
    };
  }

  function datasets(spec, palette) {
    var line = spec.type === "line";
    var thick = media("(prefers-contrast: more)") || palette.forced;
    return spec.datasets.map(function (set, i) {
      var colour = palette.series(i);
      var styled = {
        label: set.label,
        data: set.data,
        borderColor: colour,
        borderWidth: thick ? 3 : 2,
      };
      if (line) {
        styled.backgroundColor = colour;
        styled.borderDash = DASHES[i % DASHES.length];
        styled.pointStyle = POINTS[i % POINTS.length];
        styled.pointRadius = 5;
        styled.pointHoverRadius = 7;
        styled.pointBackgroundColor = palette.forced ? palette.paper : colour;
        styled.spanGaps = false;
        styled.fill = false;
        styled.clip = false; // a point at 100% is drawn whole, not cut by the chart area
      } else {
        styled.backgroundColor = pattern(colour, palette.paper, i);
      }
      return styled;
    });
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof window.Chart === "undefined") {
      return; // the table and the summary remain
    }
    var spec = JSON.parse(source.textContent);
    var palette = colours(canvas);
    var axis = spec.axis || {};
    var format = formatter(axis);
    var y = {
      beginAtZero: axis.min === 0,
      ticks: {
        color: palette.ink,
        callback: function (value) {
          return format(value);
        },
      },
      grid: { color: palette.grid },
      border: { color: palette.ink },
    };
    if (axis.min !== null && axis.min !== undefined) {
      y.min = axis.min;
    }
    if (axis.max !== null && axis.max !== undefined) {
      y.max = axis.max;
    }
    var reduced = media("(prefers-reduced-motion: reduce)");
    // Chart.js sets the canvas's size through element.style (the CSSOM), which the CSP's
    // style-src allows; it injects no stylesheet.
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets(spec, palette) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: reduced ? false : { duration: 250 },
        color: palette.ink,
        scales: {
          x: {
            ticks: { color: palette.ink, autoSkip: true, maxRotation: 45 },
            grid: { display: false },
            border: { color: palette.ink },
          },
          y: y,
        },
        plugins: {
          legend: {
            labels: {
              color: palette.ink,
              usePointStyle: spec.type === "line",
              boxWidth: 28,
              boxHeight: 14,
            },
          },
          tooltip: {
            callbacks: {
              label: function (context) {
                return context.dataset.label + ": " + format(context.parsed.y);
              },
            },
          },
        },
      },
    });
  }

  function start() {
    var canvases = document.querySelectorAll("canvas.dashboard-chart[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      try {
        draw(canvas);
      } catch (error) {
        // A chart that cannot be drawn is left out: its table is the record.
        canvas.parentNode.hidden = true;
        if (window.console) {
          window.console.error("dashboards: chart not drawn", error);
        }
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
