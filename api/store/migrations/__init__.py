"""alembic's script directory (env.py, versions/): the schema of the service's store."""
