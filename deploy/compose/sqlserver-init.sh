#!/bin/bash
# One-off (the sqlserver-init service of docker-compose.yml): creates the database the replica-sqlserver sink writes
# its tables into. SQL Server's image has no init-script directory, so this runs from a second container of the same
# image once the server answers. Images from 2022 CU14 carry sqlcmd in mssql-tools18, older ones in mssql-tools.
set -euo pipefail
sqlcmd=/opt/mssql-tools18/bin/sqlcmd
[ -x "$sqlcmd" ] || sqlcmd=/opt/mssql-tools/bin/sqlcmd
"$sqlcmd" -C -b -S sqlserver -U sa -P "$MSSQL_SA_PASSWORD" \
  -Q "IF DB_ID(N'shop_pg_replica') IS NULL CREATE DATABASE shop_pg_replica"
echo "database shop_pg_replica is there"
