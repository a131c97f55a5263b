-- The demo shop on MySQL 8 / MariaDB 10.11: `make dev` runs this file (and docker compose mounts it into
-- /docker-entrypoint-initdb.d). Every statement is create-if-absent, so running it again changes nothing.
--
-- The columns show a spread of types a capture has to carry exactly: unsigned 64-bit keys, decimals, DATETIME(6)
-- with microseconds, JSON, ENUM, BOOLEAN, a BINARY(16) UUID, TEXT and nullable columns, and one composite key.
-- There are no foreign keys on purpose: rows deleted by an ON DELETE CASCADE never reach the binlog (InnoDB
-- deletes them below the replication layer), so a capture cannot see them. The load generator deletes children
-- first, explicitly, as an application relying on CDC should.

-- The seed rows below hold non-ASCII text, whatever character set the client defaults to.
SET NAMES utf8mb4;

CREATE DATABASE IF NOT EXISTS shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE shop;

CREATE TABLE IF NOT EXISTS customers (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  external_id      BINARY(16)      NOT NULL COMMENT 'a UUID in 16 bytes',
  email            VARCHAR(255)    NOT NULL,
  full_name        VARCHAR(200)    NOT NULL,
  country          CHAR(2)         NULL,
  tier             ENUM('standard', 'silver', 'gold') NOT NULL DEFAULT 'standard',
  marketing_opt_in BOOLEAN         NOT NULL DEFAULT FALSE,
  profile          JSON            NULL,
  created_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at       DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY customers_email (email)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS products (
  id          INT UNSIGNED    NOT NULL AUTO_INCREMENT,
  sku         VARCHAR(32)     NOT NULL,
  name        VARCHAR(200)    NOT NULL,
  description TEXT            NULL,
  price       DECIMAL(10, 2)  NOT NULL,
  weight_kg   DOUBLE          NULL,
  stock       INT             NOT NULL DEFAULT 0,
  active      BOOLEAN         NOT NULL DEFAULT TRUE,
  attributes  JSON            NULL,
  updated_at  DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY products_sku (sku)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS orders (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  customer_id      BIGINT UNSIGNED NOT NULL,
  status           ENUM('pending', 'paid', 'shipped', 'delivered', 'cancelled') NOT NULL DEFAULT 'pending',
  total            DECIMAL(12, 2)  NOT NULL,
  currency         CHAR(3)         NOT NULL DEFAULT 'EUR',
  placed_at        DATETIME(6)     NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  shipped_at       DATETIME(6)     NULL,
  note             VARCHAR(500)    NULL,
  shipping_address JSON            NULL,
  PRIMARY KEY (id),
  KEY orders_customer (customer_id),
  KEY orders_status (status)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS order_items (
  order_id   BIGINT UNSIGNED   NOT NULL,
  line_no    SMALLINT UNSIGNED NOT NULL,
  product_id INT UNSIGNED      NOT NULL,
  quantity   SMALLINT UNSIGNED NOT NULL,
  unit_price DECIMAL(10, 2)    NOT NULL,
  PRIMARY KEY (order_id, line_no),
  KEY order_items_product (product_id)
) ENGINE = InnoDB;

-- A few rows for the first snapshot; the load generator adds the rest. Fixed keys, so a second run inserts nothing.
INSERT IGNORE INTO products (id, sku, name, description, price, weight_kg, stock, active, attributes) VALUES
  (1, 'MUG-001', 'Stoneware mug', 'Holds 350 ml; dishwasher safe.', 12.50, 0.42, 500, TRUE, '{"colour": "slate", "tags": ["kitchen"]}'),
  (2, 'TEA-014', 'Loose-leaf Darjeeling, 100 g', NULL, 8.95, 0.1, 800, TRUE, '{"origin": "IN", "organic": true}'),
  (3, 'KET-220', 'Kettle 1.7 l', 'Stainless steel, 2200 W.', 49.00, 1.35, 120, TRUE, '{"watts": 2200}'),
  (4, 'BAG-007', 'Canvas tote', NULL, 15.00, 0.25, 300, TRUE, NULL),
  (5, 'SPN-003', 'Teaspoons, set of 6', 'Discontinued.', 9.99, 0.18, 0, FALSE, '{"pieces": 6}');

INSERT IGNORE INTO customers (id, external_id, email, full_name, country, tier, marketing_opt_in, profile, created_at) VALUES
  (1, UNHEX('7C9E6679742540DE944BE07FC1F90AE7'), 'ada@example.com', 'Ada Lovelace', 'GB', 'gold', TRUE,
   '{"language": "en", "newsletter": ["weekly"]}', '2024-01-15 09:30:00.123456'),
  (2, UNHEX('3F2504E04F8911D39A0C0305E82C3301'), 'grace@example.com', 'Grace Hopper', 'US', 'silver', FALSE,
   '{"language": "en"}', '2024-02-01 17:05:42.000001'),
  (3, UNHEX('E4EAAAF2D14248A0A54C2D4B5D3CA0E1'), 'zoe@example.com', 'Zoë Ångström', NULL, 'standard', FALSE,
   NULL, '2024-03-10 08:00:00.500000');
