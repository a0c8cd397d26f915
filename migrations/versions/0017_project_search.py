"""a trigram full-text index of project names and codes (SQLite), for the projects search

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 17:30:00

"Contains" searches (``name LIKE '%term%'``) cannot use a b-tree index: the projects list's search
read every project ever made to count the matches (ten years of a busy shop: 50 000 rows). An
FTS5 table with the trigram tokenizer indexes every three-character piece of the name and code,
so a term of three or more characters is answered from the index (``domain/projects/search.py``).
It holds no text of its own (``content='projects'``); triggers keep it in step with the table.
On PostgreSQL the search stays ``ILIKE`` (nothing to create here).
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_INSERT = "INSERT INTO projects_search(rowid, name, project_code) VALUES (new.id, new.name, new.project_code);"
_DELETE = (
    "INSERT INTO projects_search(projects_search, rowid, name, project_code) "
    "VALUES ('delete', old.id, old.name, old.project_code);"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE projects_search USING fts5("
        "name, project_code, content='projects', content_rowid='id', tokenize='trigram')"
    )
    op.execute(f"CREATE TRIGGER projects_search_insert AFTER INSERT ON projects BEGIN {_INSERT} END")
    op.execute(f"CREATE TRIGGER projects_search_delete AFTER DELETE ON projects BEGIN {_DELETE} END")
    op.execute(
        f"CREATE TRIGGER projects_search_update AFTER UPDATE OF name, project_code ON projects "
        f"BEGIN {_DELETE} {_INSERT} END"
    )
    op.execute("INSERT INTO projects_search(projects_search) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("projects_search_update", "projects_search_delete", "projects_search_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS projects_search")
