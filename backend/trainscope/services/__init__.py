"""The server's long-lived services: the runs service, external runs, the sweep scheduler, the
doctor's live watch and the pipeline. Below `web/` (which calls them and which they never
import), above `store/`, `live/`, `jobs/` and `doctor/` (which they compose)."""
