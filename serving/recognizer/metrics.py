"""The server's Prometheus metrics. These names are the contract with aitui's queries
(aitui/services/metrics.py); tests/test_metrics_service.py checks the two agree."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

# 0.5 ms .. 10 s: resolves a sub-millisecond cache-warm request and a stalled one alike.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.0,
                   2.5, 5.0, 10.0)

REQUESTS = Counter("recognizer_requests", "Inference requests by protocol and HTTP status code",
                   ["protocol", "code"])
LATENCY = Histogram("recognizer_request_duration_seconds", "Inference request latency, receipt to response",
                    ["protocol"], buckets=LATENCY_BUCKETS)
INFERENCE = Histogram("recognizer_inference_duration_seconds", "Time the model takes for one batch",
                      buckets=LATENCY_BUCKETS)
BATCH = Histogram("recognizer_batch_size", "Images per model invocation",
                  buckets=(1, 2, 4, 8, 16, 32, 64, 128))
IMAGES = Counter("recognizer_images", "Images classified")
IN_FLIGHT = Gauge("recognizer_requests_in_flight", "Inference requests being handled")
QUEUED = Gauge("recognizer_queue_images", "Images waiting for the model")
MODEL = Info("recognizer_model", "The model being served")

# The names a scraper sees (Counter adds _total, Info adds _info); aitui queries these.
EXPORTED = {
    "requests": "recognizer_requests_total",
    "latency": "recognizer_request_duration_seconds",
    "inference": "recognizer_inference_duration_seconds",
    "batch": "recognizer_batch_size",
    "images": "recognizer_images_total",
    "in_flight": "recognizer_requests_in_flight",
    "queued": "recognizer_queue_images",
    "model": "recognizer_model_info",
}
