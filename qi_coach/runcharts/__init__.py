"""Run charts: reading a measure, the run-chart rules, and drawing and explaining the chart."""
