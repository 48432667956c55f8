// Charts of the web application's pages: Apache ECharts (static/vendor/echarts), drawn from data in the page.
//
// Usage, in a template (no inline code: the Content-Security-Policy allows scripts from this site only):
//
//   <div class="chart" data-chart="my-chart" role="img" aria-label="What the chart shows"></div>
//   <script type="application/json" id="my-chart">{{ echarts_option|tojson }}</script>
//   ...
//   <script src="{{ static_url('vendor/echarts/echarts.min.js') }}" defer></script>
//   <script src="{{ static_url('charts.js') }}" defer></script>
//
// The JSON block holds a complete ECharts option (https://echarts.apache.org/en/option.html), built by the page's
// handler: plain data, no functions. Every element with `data-chart` is drawn with the canvas renderer once the
// page has loaded and redrawn at its new size whenever its box changes (window resize, phone rotation, a <details>
// opening). A chart never is the only place of its numbers: show them in a table beside it too.
//
// For a page's own scripts: `window.pcfCharts.draw(element)` draws (or redraws) one chart and returns the ECharts
// instance; `window.pcfCharts.instances` lists the drawn ones.
"use strict";

(function () {
  const instances = [];

  function optionOf(element) {
    const source = document.getElementById(element.getAttribute("data-chart"));
    if (!source) return null;
    try {
      return JSON.parse(source.textContent);
    } catch (error) {
      console.warn("chart data is not JSON:", element.getAttribute("data-chart"));
      return null;
    }
  }

  function draw(element) {
    if (typeof window.echarts === "undefined") return null;
    const option = optionOf(element);
    if (!option) return null;
    const chart = window.echarts.getInstanceByDom(element) || window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option, true);
    if (!instances.includes(chart)) instances.push(chart);
    element.setAttribute("data-chart-drawn", "true");
    return chart;
  }

  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach((element) => {
      const chart = draw(element);
      if (chart && "ResizeObserver" in window) new ResizeObserver(() => chart.resize()).observe(element);
    });
  }

  window.pcfCharts = { draw, instances };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
