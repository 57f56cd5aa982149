"""The API server's own database, its bearer tokens and its access trail: the only part
of `api` that names the storage engine (SQLModel / SQLAlchemy), as each adapter alone
imports its library. `database.api_engine` opens it with every table created."""
