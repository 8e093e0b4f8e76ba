"""The supervisors' Grafana wallboard, built as code (:mod:`metrics.grafana.wallboard`)."""
