"""One collector per platform behind the `listener.collector.Collector` contract."""
