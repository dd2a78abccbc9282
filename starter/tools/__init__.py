"""Tools an operator runs beside the system: the demo, the benchmark, the simulator, the audit reader,
the embedded Temporal server, the codec server, the access proxy and the upgrade check."""
