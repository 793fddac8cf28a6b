/* What the PostgreSQL backend shares with its dialect translation. */
#ifndef MT_STORE_DB_PG_H
#define MT_STORE_DB_PG_H

/* A migration written in SQLite's dialect in PostgreSQL's (malloc'd, NULL
 * when out of memory): INTEGER is bigint, BLOB bytea, an INTEGER PRIMARY KEY
 * an identity column, and a table with no such key gets the rowid column
 * SQLite gives it implicitly (insertion order, which queries may use). */
char *mt_pg_translate_ddl(const char *sql);

#endif
