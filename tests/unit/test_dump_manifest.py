"""roles/backup/files/prodready-dump-manifest: the row counts the restore check compares with, for
both dump layouts (one INSERT per line, MariaDB 10.11+'s one row per line) and strings that hold
the characters the counter watches."""
import json
import subprocess
import sys

from repo import ROOT

SCRIPT = ROOT / "roles/backup/files/prodready-dump-manifest"


def manifest(dump: str) -> dict:
    run = subprocess.run([sys.executable, str(SCRIPT), "shop"], input=dump.encode(), capture_output=True, check=True)
    return json.loads(run.stdout)


def test_one_statement_per_line():
    dump = ("CREATE TABLE `orders` (\n  `id` int\n);\n"
            "INSERT INTO `orders` VALUES (1,'a),(b'),(2,'it\\'s'),(3,'x;y');\n"
            "INSERT INTO `orders` VALUES (4,'(');\n"
            "CREATE TABLE `empty` (\n  `id` int\n);\n-- Dump completed on 2026-11-23\n")
    assert manifest(dump) == {"database": "shop", "tables": {"orders": 4, "empty": 0}, "rows": 4,
                              "bytes": len(dump.encode()), "complete": True}


def test_one_row_per_line_and_backslashes():
    dump = ("CREATE TABLE `t``q` (\n  `id` int\n);\n"
            "INSERT INTO `t``q` VALUES\n(1,'\\\\'),\n(2,')\\n('),\n(3,0x2829);\n"
            "-- Dump completed on 2026-11-23\n")
    assert manifest(dump)["tables"] == {"t`q": 3}


def test_a_cut_off_dump_is_not_complete():
    dump = "CREATE TABLE `t` (\n  `id` int\n);\nINSERT INTO `t` VALUES\n(1,'a'),\n(2,"
    result = manifest(dump)
    assert result["complete"] is False and result["tables"] == {"t": 2}


PG_DUMP = """--
-- PostgreSQL database dump
--
CREATE TABLE public.orders (
    id integer NOT NULL,
    note text
);
CREATE TABLE public."Empty Table" (
    id integer
);
COPY public.orders (id, note) FROM stdin;
1	a line with \\. and (parens), 'quotes'
2	tab\\tescaped
3	\\N
\\.
"""


def test_pg_dump_copy_rows_and_trailer():
    result = manifest(PG_DUMP + "\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict kfW7pPw5o16\n\n")
    assert result["tables"] == {"public.orders": 3, 'public."Empty Table"': 0}
    assert result["complete"] is True


def test_a_cut_off_pg_dump_is_not_complete():
    assert manifest(PG_DUMP)["complete"] is False  # no trailer
    assert manifest(PG_DUMP.split("\\.\n")[0])["complete"] is False  # inside a COPY block
