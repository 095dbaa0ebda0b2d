"""Repeats and sweeps, server side: search spaces, the sweep scheduler, early stopping, and a
group's bands. No torch: trials are runs like any other, trained by the workers."""
