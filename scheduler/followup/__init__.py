"""Follow-up ("Đã gửi báo cáo"): units confirm a report was sent, the coordinator sees who
has not, reminders stop for the first and escalate for the others.

A pure core and thin edges:

- `signing`: the HMAC-SHA256 confirm-link tokens (pure) and the secret kept in the state
  dir (the edge that reads and rotates it);
- `policy`: which occurrences need a confirmation, their due day, overdue days, coordinator
  and link expiry (pure, from the config);
- `register`: the register rows for a year and their CSV/XLSX/JSON forms (pure);
- `site`: the web edge (confirm page, register page, downloads) over a ledger and a clock;
- `escalation`: the coordinator's escalation digests, and what confirmations take out of
  a planned digest (pure);
- `summary`: the coordinator's optional weekly summary digests (pure);
- `mail`: the coordinator's escalation and weekly summary emails (rendering only).

Confirmations themselves are kept by the ledger (`scheduler.store.Confirmation`).
"""
