"""One file per schema revision, applied in order by api/store/migrate.py."""
