"""Repeats and sweeps, server side: search spaces, sweep specs and their trials, early stopping,
a group's bands, what the sweep routes answer. Pure logic over specs and stored records (the
scheduler that runs the trials is a service: services/sweep_scheduler.py). No torch: trials are
runs like any other, trained by the workers."""
