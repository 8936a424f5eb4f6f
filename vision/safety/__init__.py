"""The safety core: people and roles, the client's back map, zones, steps, grip, rules and alerts, the Auditor and its report."""
