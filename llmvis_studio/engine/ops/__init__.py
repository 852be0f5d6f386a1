"""One module per task; each exposes `run(context, request, spec, progress) -> OpOutput`."""
