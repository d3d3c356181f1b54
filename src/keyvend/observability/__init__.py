"""What operators see: health and readiness, Prometheus metrics, structured logs."""
