"""Lambda: each invocation runs the function's zip in a subprocess (`runner`, with `runtime/` on its path), as its
data plane runs it (`functions`), and the patches that make moto's Lambda behave so (`patches`)."""
