"""The ashiwatch HTTP service (`ashiwatch serve`): audits of uploaded sessions and live alert
feeds from cameras, on FastAPI with an embedded SQLite database. See docs/service.md."""
