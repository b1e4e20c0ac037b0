"""Session health: one check of one instance, the schedule that runs checks, alerts on transitions.

- probe.py     what one check looks at: the store object and the connector's authorization
- check.py     one check: the verdict, the record, the status change, the transition
- alerts.py    what a transition sends, and to whom (queued as deliveries)
- channels.py  the AlertChannel contract and its webhook and email implementations (ALERT_CHANNELS)
- events.py    the event names (settings checks ALERT_*_EVENTS against them) and each event in words
- watch.py     the security watch: new authorizations, two-step verification, the connector's country
- deliberate.py what the team did on purpose (a revoke): the health says so at once, never alerted
- delivery.py  sending queued deliveries: timeout, retries with backoff, every outcome audited
- schedule.py  the one schedule (a DB singleton), when each instance is due, one pass
- worker.py    the threads `manage.py worker` runs beside the Django Tasks worker
"""
