"""verm's benchmarks: scripts, each runnable alone; ``python -m benchmarks`` runs them all."""
