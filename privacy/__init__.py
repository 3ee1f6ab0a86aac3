"""Privacy: the privacy officer's access-log pages, and a person's data rights: their own data
as a download, and erasure by anonymisation.

- `views.py`, `urls.py`: the access log, read-only, and its CSV;
- `views_data.py`, `urls_data.py`: the person's own data page and download;
- `export.py`: `export_person(user)`, the zip of `data.json` (every section, keyed by section
  name), one CSV per section and a README.txt that explains each file;
- what goes in it: each app's own `privacy.py` (accounts, mentoring, matching, sessions_log,
  surveys), one function per section registered with `@section` (accounts/privacy_registry.py)
  and loaded at startup by `apps.py`: only what the person may see in the product. A new
  section is one more function in the app that keeps the data;
- `erasure.py`: `erase_person(user, by=None)`, which anonymises a person and keeps the access
  log and every row that aggregates count (`manage.py erase_person`); what it does to each
  app's data is that app's `privacy.py` (`@erasure_step`, `name_copies`), run in order.
"""
