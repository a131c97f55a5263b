-- Run once by the mysql-source container's entrypoint (/docker-entrypoint-initdb.d/), after it created the
-- `tributary` user from MYSQL_USER/MYSQL_PASSWORD. The capture reads every captured table, streams the binlog and
-- reads its position, and on MySQL 8 holds FLUSH TABLES WITH READ LOCK for the instant its snapshot starts.
GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'tributary'@'%';
