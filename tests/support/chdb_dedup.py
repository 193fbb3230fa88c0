"""Inserts moose's RowBinary rows into modern ClickHouse (chdb) through our DDL once per
token given, each with `insert_deduplication_token = <token>`, and prints the row count.

usage: chdb_dedup.py DDL_FILE TABLE STRUCTURE ROWS_FILE TOKEN...
"""
import sys
import tempfile

import chdb.session as cs

ddl_file, table, structure, rows_file = sys.argv[1:5]
tokens = sys.argv[5:]
structure = structure.replace("\\", "\\\\").replace("'", "\\'")
session = cs.Session(tempfile.mkdtemp())
session.query("CREATE DATABASE IF NOT EXISTS local")
session.query(open(ddl_file).read())
for token in tokens:
    token = token.replace("\\", "\\\\").replace("'", "\\'")
    session.query(
        f"INSERT INTO {table} SETTINGS insert_deduplication_token = '{token}' "
        f"SELECT * FROM file('{rows_file}', RowBinary, '{structure}')"
    )
result = session.query(f"SELECT count() FROM {table}", "CSV")
sys.stdout.write(result.bytes().decode() if hasattr(result, "bytes") else str(result))
