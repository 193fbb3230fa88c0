"""Loads moose's RowBinary bytes into modern ClickHouse (chdb) through our DDL and prints the
rows back as JSONEachRow.

usage: chdb_roundtrip.py DDL_FILE TABLE STRUCTURE ROWS_FILE
"""
import sys

import chdb.session as cs

ddl_file, table, structure, rows_file = sys.argv[1:5]
structure = structure.replace("\\", "\\\\").replace("'", "\\'")
session = cs.Session()
session.query("CREATE DATABASE IF NOT EXISTS local")
session.query(open(ddl_file).read())
session.query(
    f"INSERT INTO {table} SELECT * FROM file('{rows_file}', RowBinary, '{structure}') "
    "SETTINGS input_format_binary_read_json_as_string = 1"
)
result = session.query(
    f"SELECT * FROM {table} ORDER BY id SETTINGS output_format_json_quote_64bit_integers = 1", "JSONEachRow"
)
sys.stdout.write(result.bytes().decode() if hasattr(result, "bytes") else str(result))
