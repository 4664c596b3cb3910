"""Generators: pure functions from a loaded config to the documents other tools consume (Prometheus and vmalert rules, Alertmanager config, Grafana dashboards)."""
